// Prompt ensembles and mixed-prompt batches at the suite's layout against one rank: evaluating N
// prompts in one pass gives each prompt the predictions of its own evaluation, an ensemble of one
// prompt is that prompt's evaluation, and a batch mixing two tasks' prompts gives each row the
// prediction its own prompt gives it alone.
#include <gtest/gtest.h>

#include "tests/MpiSupport.h"
#include "tests/TestSupport.h"
#include "tests/train/LayoutRunConfig.h"
#include "train/Evaluator.h"
#include "train/PromptExport.h"
#include "train/PromptTable.h"
#include "train/Trainer.h"

namespace ptuner::train {
namespace {

struct PromptTables : ::testing::Test {
  static void SetUpTestSuite() {
    auto w = ptuner::testing::world();
    root_ = ptuner::testing::shared_dir("prompt-tables");
    if (w->rank() == 0) {
      ptuner::testing::write_tiny_model(root_ + "/model", 21);
      ptuner::testing::write_sentiment_jsonl(root_ + "/train.jsonl", 64, 3);
      ptuner::testing::write_sentiment_jsonl(root_ + "/dev.jsonl", 13, 4);
    }
    w->barrier();
  }
  static RunConfig config(const std::string& run, const dist::Layout& l, std::vector<std::string> extra = {}) {
    extra.push_back("data.dev=\"" + root_ + "/dev.jsonl\"");
    return ptuner::testing::layout_run_config(root_, run, l, 1, 24, 4, extra);
  }
  // Three different prompts of 4 tokens (layout-independent values).
  static std::vector<torch::Tensor> prompts() {
    std::vector<torch::Tensor> out;
    for (int i = 0; i < 3; ++i) out.push_back(torch::randn({4, 64}, at::detail::createCPUGenerator(100 + i)) * 0.5);
    return out;
  }
  // One prompt's own evaluation on one rank, through a shallow prompt holding it.
  static EvalResult alone(const torch::Tensor& p, const EvalOptions& o) {
    dist::ParallelState single(dist::Layout{}, ptuner::testing::self());
    Trainer t(config("alone-" + std::to_string(ptuner::testing::world()->rank()), dist::Layout{}), single);
    t.prompt().load_parameters({{"embedding", p}}, "test prompt");
    data::Tokenizer tok(root_ + "/model/spiece.model");
    return evaluate(t.frozen().model, t.prompt(), tok, single, o);
  }
  static std::string root_;
};
std::string PromptTables::root_;

TEST_F(PromptTables, AnEnsemblePassGivesEachPromptItsOwnPredictions) {
  const auto layout = ptuner::testing::test_layout();
  dist::ParallelState ps(layout, ptuner::testing::world());
  Trainer host(config("ensemble", layout), ps);  // the frozen model at the layout
  const auto ps_prompts = prompts();
  PromptTable table(ps_prompts, host.frozen().stage.first);
  const auto o = EvalOptions::from(config("ensemble", layout));
  data::Tokenizer tok(root_ + "/model/spiece.model");
  const auto all = evaluate_prompts(host.frozen().model, table, 3, tok, ps, o);
  ASSERT_EQ(all.prompts.size(), 3u);
  std::vector<std::vector<std::string>> own;
  for (int k = 0; k < 3; ++k) {
    own.push_back(alone(ps_prompts[k], o).predictions);
    EXPECT_EQ(all.prompts[k].predictions, own.back()) << "prompt " << k << " " << layout.str();
  }
  // The prompts disagree somewhere (the comparison is not of one prediction thrice) ...
  EXPECT_TRUE(own[0] != own[1] || own[1] != own[2]);
  // ... and the ensemble is each example's majority vote.
  for (size_t i = 0; i < own[0].size(); ++i)
    EXPECT_EQ(all.ensemble.predictions[i], majority_vote({own[0][i], own[1][i], own[2][i]})) << "example " << i;
  // An ensemble of one prompt is that prompt's evaluation.
  PromptTable one({ps_prompts[1]}, host.frozen().stage.first);
  const auto single = evaluate_prompts(host.frozen().model, one, 1, tok, ps, o);
  EXPECT_EQ(single.ensemble.predictions, own[1]);
  EXPECT_EQ(single.ensemble.metrics, all.prompts[1].metrics);
}

TEST_F(PromptTables, ARankClassificationEnsembleSumsTheLogLikelihoods) {
  const auto layout = ptuner::testing::test_layout();
  dist::ParallelState ps(layout, ptuner::testing::world());
  auto c = config("rank-ensemble", layout,
                  {"data.eval_method=\"rank\"", "prompt.class_labels=[\"positive\", \"negative\"]"});
  Trainer host(c, ps);
  const auto o = EvalOptions::from(c);
  PromptTable table(prompts(), host.frozen().stage.first);
  data::Tokenizer tok(root_ + "/model/spiece.model");
  const auto all = evaluate_prompts(host.frozen().model, table, 3, tok, ps, o);
  for (int k = 0; k < 3; ++k) EXPECT_EQ(all.prompts[k].predictions, alone(prompts()[k], o).predictions) << k;
  EXPECT_EQ(all.ensemble.predictions.size(), 13u);
}

TEST_F(PromptTables, AMixedBatchGivesEachRowItsOwnPromptsPrediction) {
  const auto layout = ptuner::testing::test_layout();
  dist::ParallelState ps(layout, ptuner::testing::world());
  Trainer host(config("mixed", layout), ps);
  const auto ps_prompts = prompts();
  data::Tokenizer tok(root_ + "/model/spiece.model");
  std::vector<std::string> inputs = {"review: the food was great",  "review: my phone was slow and cold",
                                     "review: this show was fresh",  "review: the service was rude",
                                     "review: our room was excellent", "review: the game was terrible"};
  const std::vector<int64_t> mixed = {0, 1, 0, 1, 1, 0};
  PromptTable two({ps_prompts[0], ps_prompts[1]}, host.frozen().stage.first);
  const auto got = predict(host.frozen().model, two, mixed, inputs, tok, ps, 4, 20, 4);
  // Each prompt alone over every row, on one rank.
  dist::ParallelState single(dist::Layout{}, ptuner::testing::self());
  Trainer one(config("mixed-one-" + std::to_string(ptuner::testing::world()->rank()), dist::Layout{}), single);
  for (int64_t k = 0; k < 2; ++k) {
    PromptTable alone_table({ps_prompts[static_cast<size_t>(k)]}, true);
    const auto ref = predict(one.frozen().model, alone_table, std::vector<int64_t>(inputs.size(), 0), inputs, tok,
                             single, 4, 20, 4);
    for (size_t i = 0; i < inputs.size(); ++i)
      if (mixed[i] == k) {
        EXPECT_EQ(got[i], ref[i]) << "row " << i << " " << layout.str();
      }
  }
}

}  // namespace
}  // namespace ptuner::train
