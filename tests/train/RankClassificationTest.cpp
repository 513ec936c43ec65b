// Rank classification: the prediction is the label whose tokens the model finds most likely,
// checked against the loss of each label computed directly with the unsharded model.
#include <gtest/gtest.h>

#include "dist/Check.h"
#include "dist/MpiCommunicator.h"
#include "tests/MpiSupport.h"
#include "tests/TestSupport.h"
#include "train/Evaluator.h"
#include "train/Trainer.h"
#include "tests/StageSupport.h"

namespace ptuner::train {
namespace {

struct RankClassification : ::testing::Test {
  static void SetUpTestSuite() {
    root_ = ptuner::testing::temp_dir("rank-classification");
    ptuner::testing::write_tiny_model(root_ + "/model", 3);
    ptuner::testing::write_sentiment_jsonl(root_ + "/train.jsonl", 64, 1);
    ptuner::testing::write_sentiment_jsonl(root_ + "/dev.jsonl", 11, 2);
  }
  static RunConfig config(std::vector<std::string> extra = {}) {
    std::vector<std::string> o = {"model.path=\"" + root_ + "/model\"", "data.train=\"" + root_ + "/train.jsonl\"",
                                  "data.dev=\"" + root_ + "/dev.jsonl\"", "run.dir=\"" + root_ + "/run\""};
    o.insert(o.end(), extra.begin(), extra.end());
    return RunConfig::from_string("[data]\nmax_input_length = 32\nmax_target_length = 4\nprefetch = 0\n[train]\nbatch_size = 4\n"
                                  "[prompt]\nlength = 3\n",
                                  "test.toml", o);
  }
  static dist::ParallelState& single() {
    static auto self = ptuner::testing::self();
    static dist::ParallelState ps(dist::Layout{}, self);
    return ps;
  }
  static std::string root_;
};
std::string RankClassification::root_;

TEST_F(RankClassification, PicksTheLabelWithTheLeastCrossEntropy) {
  auto c = config();
  Trainer t(c, single());
  for (int i = 0; i < 3; ++i) t.step();  // a prompt that is not the initial one
  data::Tokenizer tok(root_ + "/model/spiece.model");
  const std::vector<std::string> labels = {"positive", "negative", "neutral"};
  std::vector<std::vector<int64_t>> candidates;
  for (const auto& l : labels) candidates.push_back(tok.encode(l));
  // Three inputs of different lengths, padded.
  std::vector<std::vector<int64_t>> inputs = {tok.encode("review: the soup was great"),
                                              tok.encode("review: the staff was rude"), tok.encode("music")};
  const int64_t S = 8;
  auto ids = torch::zeros({3, S}, torch::kLong), mask = torch::zeros({3, S}, torch::kLong);
  for (int64_t i = 0; i < 3; ++i)
    for (size_t j = 0; j < inputs[i].size(); ++j) ids[i][j] = inputs[i][j], mask[i][j] = 1;
  auto model = t.frozen().model;
  model->eval();
  mp::PipelineStage stage(model);
  auto best = rank_classify(stage, t.prompt(), single(), ids, mask, candidates);
  ASSERT_EQ(best.size(0), 3);
  torch::NoGradGuard no_grad;
  for (int64_t i = 0; i < 3; ++i) {
    std::vector<double> loss;
    for (const auto& cand : candidates) {
      auto labels = torch::tensor(cand, torch::kLong).unsqueeze(0);
      auto mb = ptuner::testing::micro_batch(ids.narrow(0, i, 1), mask.narrow(0, i, 1), labels, {});
      mb.prefix_length = t.prompt().prefix_length();
      auto inj = t.prompt().injection(mb);
      auto sums = stage.loss(stage.forward(mb, {}, inj).at(0), labels, 0.0);
      loss.push_back(sums.ce.item<double>());
    }
    const auto expected = std::min_element(loss.begin(), loss.end()) - loss.begin();
    EXPECT_EQ(best[i].item<int64_t>(), expected) << "row " << i << ": losses " << loss[0] << " " << loss[1] << " "
                                                 << loss[2];
  }
}

TEST_F(RankClassification, EvaluationPredictsOnlyLegalLabels) {
  auto c = config({"data.eval_method=\"rank\"", "prompt.class_labels=[\"positive\", \"negative\"]"});
  Trainer t(c, single());
  t.step();
  auto o = EvalOptions::from(c);
  ASSERT_EQ(o.rank_labels, (std::vector<std::string>{"positive", "negative"}));
  data::Tokenizer tok(root_ + "/model/spiece.model");
  auto r = evaluate(t.frozen().model, t.prompt(), tok, single(), o);
  ASSERT_EQ(r.predictions.size(), 11u);
  for (const auto& p : r.predictions) EXPECT_TRUE(p == "positive" || p == "negative") << p;
}

TEST_F(RankClassification, TaskLabelsComeFromTheTaskAndFreeTextTasksNeedLabels) {
  auto boolq = config({"data.eval_method=\"rank\"", "data.task=\"boolq\""});
  EXPECT_EQ(EvalOptions::from(boolq).rank_labels, (std::vector<std::string>{"False", "True"}));
  auto free_text = config({"data.eval_method=\"rank\""});
  try {
    EvalOptions::from(free_text);
    FAIL() << "no error";
  } catch (const ptuner::Error& e) {
    EXPECT_NE(std::string(e.what()).find("prompt.class_labels"), std::string::npos) << e.what();
  }
  EXPECT_THROW(config({"data.eval_method=\"beam\""}), ptuner::Error);
}

}  // namespace
}  // namespace ptuner::train
