// Further dev sets ([[data.eval_set]]) beside data.dev, as Lester et al.'s out-of-domain MRQA
// sets beside SQuAD's dev: each scored under its name at every evaluation, the main dev keeping
// checkpoint-best unless train.best_metric names one of them; `ptuner eval` and the dry run see
// the same sets.
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "data/Tokenizer.h"
#include "dist/Check.h"
#include "tests/TestSupport.h"
#include "tests/train/TinyTrainerRun.h"
#include "train/Checkpoint.h"
#include "train/DryRun.h"
#include "train/Evaluator.h"
#include "train/RunGuard.h"
#include "train/Trainer.h"

namespace ptuner::train {
namespace {

// The tiny trainer's dev file again (as "copy"), 16 other sentiment examples (as "shifted") and
// the dev file with every label swapped (as "flipped": ranked over the two labels, it scores
// 1 - the dev's exact match at every evaluation, so its best step is the dev's worst).
RunConfig eval_set_config(const std::string& run, std::vector<std::string> extra = {}) {
  const auto& e = ptuner::testing::tiny_trainer_env();
  static const std::string shifted = [&] {
    const std::string p = e.root + "/shifted-dev.jsonl";
    ptuner::testing::write_sentiment_jsonl(p, 16, 9);
    return p;
  }();
  static const std::string flipped = [&] {
    const std::string p = e.root + "/flipped-dev.jsonl";
    std::ifstream in(e.dev);
    std::ofstream out(p);
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line);
      j["targets"] = j["targets"] == "positive" ? "negative" : "positive";
      out << j.dump() << "\n";
    }
    return p;
  }();
  // Rank classification over the two labels: a tiny model's scores move from the first steps on.
  std::vector<std::string> o = {"data.eval_method=\"rank\"", "prompt.class_labels=[\"negative\", \"positive\"]",
                                "data.eval_set=[{name = \"copy\", dev = \"" + e.dev + "\"}, {name = \"shifted\", dev = \"" +
                                    shifted + "\"}, {name = \"flipped\", dev = \"" + flipped + "\"}]"};
  o.insert(o.end(), extra.begin(), extra.end());
  return ptuner::testing::tiny_trainer_config(run, o);
}

std::string eval_set_error(const RunConfig& c) {
  try {
    check_eval_needs(c);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A mistyped data file fails before the frozen model loads (minutes at XXL): here the model
// directory does not exist either, and the error is the data file's.
TEST(EvalSet, AMissingDataFileFailsBeforeTheModelLoads) {
  auto error_of = [](std::vector<std::string> extra) {
    extra.push_back("model.path=\"/nonexistent-model\"");
    try {
      Trainer t(eval_set_config("missing", extra), ptuner::testing::single_rank());
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of({"train.eval_every=2", "data.eval_set=[{name = \"ood\", dev = \"/nonexistent/ood.jsonl\"}]"})
                .find("data.eval_set[0].dev /nonexistent/ood.jsonl does not exist"),
            std::string::npos);
  EXPECT_NE(error_of({"data.train=\"/nonexistent/train.jsonl\""}).find("data.train /nonexistent/train.jsonl does not exist"),
            std::string::npos);
  EXPECT_NE(error_of({}).find("/nonexistent-model"), std::string::npos);  // the files exist: the model's error
}

TEST(EvalSet, EachSetIsScoredUnderItsNameAndTheMainDevKeepsTheBest) {
  const auto c = eval_set_config("eval-set", {"train.steps=8", "train.eval_every=1", "optim.lr=1.0"});
  const auto sets = run_dev_sets(c);
  ASSERT_EQ(sets.size(), 4u);
  EXPECT_EQ(sets[0].name, "");  // data.dev: unprefixed
  EXPECT_EQ(sets[2].name, "shifted");
  EXPECT_EQ(sets[2].task, "jsonl");
  const auto labels = check_eval_needs(c);
  ASSERT_EQ(labels.size(), 4u);
  EXPECT_EQ(labels[1].examples, 24);
  EXPECT_EQ(labels[2].examples, 16);
  EXPECT_EQ(labels[2].labeled, 16);
  // train.best_metric may name a further set's metric; a wrong one lists them all.
  EXPECT_EQ(eval_set_error(eval_set_config("x", {"train.eval_every=2", "train.best_metric=\"shifted/exact_match\""})), "");
  EXPECT_NE(eval_set_error(eval_set_config("x", {"train.eval_every=2", "train.best_metric=\"shifted/accuracy\""}))
                .find("train.best_metric 'shifted/accuracy' is not a metric of the dev sets (it has: exact_match, "
                      "copy/exact_match, shifted/exact_match, flipped/exact_match)"),
            std::string::npos);
  EXPECT_NE(eval_set_error(eval_set_config("x", {"train.eval_every=2", "data.eval_set=[{dev = \"/nonexistent.jsonl\"}]"}))
                .find("data.eval_set[0].dev /nonexistent.jsonl does not exist"),
            std::string::npos);
  // The dry run names each file with its examples.
  const auto lines = dry_run(c, ptuner::testing::single_rank(), false);
  const std::string all = fmt::format("{}", fmt::join(lines, "\n"));
  EXPECT_NE(all.find("data.dev " + c.data.dev + ": 24 examples, 24 labeled; evaluated every step"), std::string::npos)
      << all;
  EXPECT_NE(all.find("data.eval_set[1].dev " + c.data.eval_set[1].dev +
                     " (as shifted/…): 16 examples, 16 labeled; evaluated every step"),
            std::string::npos)
      << all;

  auto& ps = ptuner::testing::single_rank();
  Trainer t(c, ps);
  t.run(false);
  std::vector<nlohmann::json> evals;
  {
    std::ifstream in(c.run.dir + "/metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line);
      if (j.contains("eval_exact_match")) evals.push_back(j);
    }
  }
  ASSERT_EQ(evals.size(), 8u);
  int64_t best_step = -1, flipped_best_step = -1;
  double best = -1, worst = 2, shifted_best = -1, flipped_best = -1;
  for (const auto& j : evals) {
    // The same file under another name scores the same; the counts are each set's own.
    EXPECT_DOUBLE_EQ(j["eval_copy/exact_match"].get<double>(), j["eval_exact_match"].get<double>());
    EXPECT_DOUBLE_EQ(j["eval_examples"].get<double>(), 24);
    EXPECT_DOUBLE_EQ(j["eval_copy/examples"].get<double>(), 24);
    EXPECT_DOUBLE_EQ(j["eval_shifted/examples"].get<double>(), 16);
    EXPECT_FALSE(j.contains("eval_average"));
    const double v = j["eval_exact_match"].get<double>();
    if (v > best) best = v, best_step = j["step"].get<int64_t>();
    worst = std::min(worst, v);
    // Every dev example ranked as one of the two labels: the swapped labels score the rest.
    const double f = j["eval_flipped/exact_match"].get<double>();
    EXPECT_NEAR(f, 1 - v, 1e-12);
    if (f > flipped_best) flipped_best = f, flipped_best_step = j["step"].get<int64_t>();
    shifted_best = std::max(shifted_best, j["eval_shifted/exact_match"].get<double>());
  }
  EXPECT_EQ(Checkpoint::load(c.run.dir + "/checkpoint-best.h5").step, best_step);
  // The dev's score moves over the eight evaluations (on LibTorch 1.13 and 2.x alike, whose
  // random tiny models differ), so the flipped set's best step is another: the main dev decides.
  ASSERT_LT(worst, best);
  EXPECT_NE(best_step, flipped_best_step);
  EXPECT_GT(shifted_best, 0);  // scored by rank: not the empty greedy outputs of a tiny model
  EXPECT_EQ(sets[2].rank_labels, (std::vector<std::string>{"negative", "positive"}));  // data.task's class labels
  // The last evaluation (step 8) is what each set's own evaluation gives, predictions included.
  data::Tokenizer tokenizer(c.tokenizer_path());
  std::vector<std::string> dev_predictions;
  const auto run_metrics = evaluate_run(t.frozen().model, t.prompt(), tokenizer, ps, c, &dev_predictions);
  const auto alone = evaluate(t.frozen().model, t.prompt(), tokenizer, ps, sets[2]);
  EXPECT_DOUBLE_EQ(run_metrics.at("shifted/exact_match"), alone.metrics.at("exact_match"));
  EXPECT_DOUBLE_EQ(evals.back()["eval_shifted/exact_match"].get<double>(), alone.metrics.at("exact_match"));
  EXPECT_EQ(dev_predictions, evaluate(t.frozen().model, t.prompt(), tokenizer, ps, sets[0]).predictions);
  // The further sets may come and go on resume; they do not touch the best while
  // train.best_metric names none of them.
  const auto saved = Checkpoint::load(c.run.dir + "/checkpoint-last.h5").config_toml;
  const auto without = ptuner::testing::tiny_trainer_config(
      "eval-set", {"data.eval_method=\"rank\"", "prompt.class_labels=[\"negative\", \"positive\"]", "train.steps=10",
                   "train.eval_every=2", "optim.lr=1.0"});
  bool changed = false;
  for (const auto& change : resume_changes(saved, without)) {
    if (change.key != "data.eval_set") continue;
    changed = true;
    EXPECT_FALSE(change.refused);
  }
  EXPECT_TRUE(changed);
  {
    Trainer more(without, ps);
    more.run(/*resume=*/true);
  }
  // Step 10's evaluation writes checkpoint-best.h5 only if it beats the best so far.
  std::ifstream in(c.run.dir + "/metrics.jsonl");
  double step10 = -1;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("eval_exact_match") && j["step"].get<int64_t>() == 10) step10 = j["eval_exact_match"].get<double>();
  }
  ASSERT_GE(step10, 0);
  EXPECT_EQ(Checkpoint::load(c.run.dir + "/checkpoint-best.h5").step, step10 > best ? 10 : best_step);
}

}  // namespace
}  // namespace ptuner::train
