// A mixture's dev sets ([[data.mixture]] entries' `dev`): each task evaluated with its own reader
// and metrics, the average of the tasks' scores (GLUE / SuperGLUE / T5's), the best checkpoint
// kept by it, and the config checks around them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "data/Task.h"
#include "data/Tokenizer.h"
#include "dist/Check.h"
#include "tests/TestSupport.h"
#include "tests/train/TinyTrainerRun.h"
#include "train/Checkpoint.h"
#include "train/Evaluator.h"
#include "train/RunGuard.h"
#include "train/Trainer.h"

namespace ptuner::train {
namespace {

// GLUE CoLA's format (source, label, original mark, sentence; no header), 12 rows, and SST-2's
// (a header, then sentence and label), 48 rows: each task's training file and its dev file here.
const std::string& cola_file() {
  static const std::string path = [] {
    const std::string p = ptuner::testing::tiny_trainer_env().root + "/cola.tsv";
    std::ofstream out(p);
    const char* good[] = {"The sailors rode the breeze clear of the rocks.", "Fred watered the plants flat.",
                          "Bill rolled out of the room.", "The dog barked at the mail.", "She read the old book.",
                          "We walked home after the game."};
    const char* bad[] = {"The more we study verbs, the crazier they get weirder.", "They drank the pub.",
                         "The car honked down the road the.", "Book the read she old.", "Him went to store.",
                         "Walked we game home the after."};
    for (int i = 0; i < 6; ++i) out << "gj04\t1\t\t" << good[i] << "\nbc01\t0\t*\t" << bad[i] << "\n";
    return p;
  }();
  return path;
}

const std::string& sst2_file() {
  static const std::string path = [] {
    const std::string p = ptuner::testing::tiny_trainer_env().root + "/sst2.tsv";
    std::ofstream out(p);
    out << "sentence\tlabel\n";
    const char* good[] = {"a charming and affecting journey", "warm , funny and wise", "a delight from start to end",
                          "smart and moving"};
    const char* bad[] = {"bleak and desperate", "a dull , lifeless mess", "tedious and far too long",
                         "a poor imitation"};
    for (int r = 0; r < 6; ++r)
      for (int i = 0; i < 4; ++i) out << good[i] << " " << r << " \t1\n" << bad[i] << " " << r << " \t0\n";
    return p;
  }();
  return path;
}

// The tiny trainer's setting on a mixture of GLUE SST-2 and CoLA, scored by rank classification,
// `devs` giving each entry's dev.
RunConfig mixture_config(const std::string& run, bool devs, std::vector<std::string> extra = {}) {
  const std::string sst2_dev = devs ? ", dev = \"" + sst2_file() + "\"" : "";
  const std::string cola_dev = devs ? ", dev = \"" + cola_file() + "\"" : "";
  std::vector<std::string> o = {"data.train=\"\"", "data.dev=\"\"", "data.eval_method=\"rank\"",
                                "data.mixture=[{task = \"sst2\", train = \"" + sst2_file() + "\"" + sst2_dev +
                                    "}, {task = \"cola\", train = \"" + cola_file() + "\"" + cola_dev + "}]"};
  o.insert(o.end(), extra.begin(), extra.end());
  return ptuner::testing::tiny_trainer_config(run, o);
}

std::string mixture_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(MixtureDev, TaskScoresAverageTheLeaderboardsMetrics) {
  // CoLA: Matthews' correlation alone; CB: F1 and accuracy; STS-B: Pearson and Spearman.
  EXPECT_DOUBLE_EQ(data::task_score(data::task_spec("cola"), {{"matthews_corr", 0.4}, {"accuracy", 0.9}}), 0.4);
  EXPECT_DOUBLE_EQ(data::task_score(data::task_spec("cb"), {{"f1_macro", 0.5}, {"accuracy", 0.8}}), 0.65);
  EXPECT_DOUBLE_EQ(data::task_score(data::task_spec("stsb"), {{"pearson", 0.9}, {"spearman", 0.7}, {"examples", 3}}),
                   0.8);
  EXPECT_NE(mixture_error([] { data::task_score(data::task_spec("rte"), {{"examples", 3}}); })
                .find("task 'rte': its metrics lack 'accuracy'"),
            std::string::npos);
}

TEST(MixtureDev, ConfigChecksNameTheEntries) {
  const auto c = mixture_config("mixture-config", true);
  ASSERT_EQ(c.data.mixture.size(), 2u);
  EXPECT_EQ(c.data.mixture[1].dev, cola_file());
  const auto sets = run_dev_sets(c);
  ASSERT_EQ(sets.size(), 2u);
  EXPECT_EQ(sets[1].task, "cola");
  EXPECT_EQ(sets[1].path, cola_file());
  // Beside data.dev; the same task's dev twice; an empty dev; rank classification of free text.
  const auto& e = ptuner::testing::tiny_trainer_env();
  EXPECT_NE(mixture_error([&] { mixture_config("x", true, {"data.dev=\"" + e.dev + "\""}); })
                .find("data.mixture[0].dev and data.dev are both set"),
            std::string::npos);
  EXPECT_NE(mixture_error([&] {
              ptuner::testing::tiny_trainer_config(
                  "x", {"data.train=\"\"", "data.dev=\"\"",
                        "data.mixture=[{task = \"cola\", train = \"a\", dev = \"b\"}, {task = \"cola\", train = \"c\", "
                        "dev = \"d\"}]"});
            }).find("data.mixture[0] and data.mixture[1] both give a dev file for task 'cola'"),
            std::string::npos);
  EXPECT_NE(mixture_error([&] {
              ptuner::testing::tiny_trainer_config(
                  "x", {"data.train=\"\"", "data.dev=\"\"", "data.mixture=[{task = \"cola\", train = \"a\", dev = \"\"}]"});
            }).find("data.mixture[0].dev must be a non-empty string"),
            std::string::npos);
  EXPECT_NE(mixture_error([&] {
              run_dev_sets(ptuner::testing::tiny_trainer_config(
                  "x", {"data.train=\"\"", "data.dev=\"\"", "data.eval_method=\"rank\"", "prompt.class_labels=[\"a\"]",
                        "data.mixture=[{task = \"jsonl\", train = \"" + e.train + "\", dev = \"" + e.dev + "\"}]"}));
            }).find("task 'jsonl' has free-text targets (a mixture's dev sets do not take prompt.class_labels: use \"greedy\")"),
            std::string::npos);
  // Evaluation's needs: a missing dev file named with its task, best_metric among the mixture's.
  EXPECT_NE(mixture_error([&] {
              check_eval_needs(ptuner::testing::tiny_trainer_config(
                  "x", {"data.train=\"\"", "data.dev=\"\"", "train.eval_every=2",
                        "data.mixture=[{task = \"cola\", train = \"a\", dev = \"/nonexistent/dev.tsv\"}]"}));
            }).find("data.mixture[0].dev /nonexistent/dev.tsv does not exist"),
            std::string::npos);
  EXPECT_NE(mixture_error([&] { check_eval_needs(mixture_config("x", true, {"train.eval_every=2", "train.best_metric=\"accuracy\""})); })
                .find("train.best_metric 'accuracy' is not a metric of the mixture's dev sets (it has: average, "
                      "sst2/accuracy, cola/matthews_corr, cola/accuracy)"),
            std::string::npos);
  const auto labels = check_eval_needs(mixture_config("x", true, {"train.eval_every=2", "train.best_metric=\"cola/accuracy\""}));
  ASSERT_EQ(labels.size(), 2u);
  EXPECT_EQ(labels[0].examples, 48);
  EXPECT_EQ(labels[1].examples, 12);
  EXPECT_NE(mixture_error([&] { check_eval_needs(mixture_config("x", false, {"train.eval_every=2"})); })
                .find("train.eval_every = 2 needs data.dev or a dev file in [[data.mixture]]"),
            std::string::npos);
}

TEST(MixtureDev, EachTaskIsScoredAndTheBestCheckpointKeptByTheAverage) {
  const auto c = mixture_config("mixture-dev", true, {"train.steps=8", "train.eval_every=2", "optim.lr=0.3"});
  auto& ps = ptuner::testing::single_rank();
  Trainer t(c, ps);
  t.run(false);
  std::vector<nlohmann::json> evals;
  {
    std::ifstream in(c.run.dir + "/metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line);
      if (j.contains("eval_average")) evals.push_back(j);
    }
  }
  ASSERT_EQ(evals.size(), 4u);
  int64_t best_step = -1;
  double best = -1e9;
  for (const auto& j : evals) {
    EXPECT_DOUBLE_EQ(j["eval_sst2/examples"].get<double>(), 48);
    EXPECT_DOUBLE_EQ(j["eval_cola/examples"].get<double>(), 12);
    EXPECT_DOUBLE_EQ(j["eval_examples"].get<double>(), 60);
    const double average = (j["eval_sst2/accuracy"].get<double>() + j["eval_cola/matthews_corr"].get<double>()) / 2;
    EXPECT_DOUBLE_EQ(j["eval_average"].get<double>(), average) << j.dump();
    EXPECT_TRUE(j.contains("eval_cola/accuracy"));
    if (average > best) best = average, best_step = j["step"].get<int64_t>();
  }
  EXPECT_EQ(Checkpoint::load(c.run.dir + "/checkpoint-best.h5").step, best_step);
  EXPECT_NE(evals.front()["eval_average"].get<double>(), best);  // the best is not merely the first
  // The last evaluation (step 8, the final prompt) is what each task's own evaluation gives.
  data::Tokenizer tokenizer(c.tokenizer_path());
  for (const auto& o : run_dev_sets(c)) {
    const auto alone = evaluate(t.frozen().model, t.prompt(), tokenizer, ps, o).metrics;
    for (const auto& [name, value] : alone) EXPECT_DOUBLE_EQ(evals.back()["eval_" + o.task + "/" + name].get<double>(), value);
  }
  // Adding, changing or dropping a mixture's dev files on resume is allowed; its training part is not.
  const auto saved = Checkpoint::load(c.run.dir + "/checkpoint-last.h5").config_toml;
  const auto changes = resume_changes(saved, mixture_config("mixture-dev", false, {"train.steps=8", "train.eval_every=2", "optim.lr=0.3"}));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].key, "data.mixture");
  EXPECT_FALSE(changes[0].refused);
  // Resumed with CoLA's Matthews correlation as the metric: the best so far was the average, so the
  // first evaluation after the resume (step 10) writes checkpoint-best.h5 again, though lower.
  {
    Trainer more(mixture_config("mixture-dev", true,
                                {"train.steps=10", "train.eval_every=2", "optim.lr=0.3",
                                 "train.best_metric=\"cola/matthews_corr\""}),
                 ps);
    more.run(/*resume=*/true);
  }
  EXPECT_EQ(Checkpoint::load(c.run.dir + "/checkpoint-best.h5").step, 10);
  const auto other = ptuner::testing::tiny_trainer_config(
      "mixture-dev", {"data.train=\"\"", "data.dev=\"\"", "data.mixture=[{task = \"cola\", train = \"" + cola_file() + "\"}]"});
  bool refused = false;
  for (const auto& change : resume_changes(saved, other)) refused = refused || (change.key == "data.mixture" && change.refused);
  EXPECT_TRUE(refused);
}

// A [[data.eval_set]] beside a mixture's dev sets: scored under its name, outside the average.
// Here SST-2's dev again as "sst2_again": its metrics equal the mixture's SST-2 ones, and the
// average and the example count stay those of the mixture's two tasks.
TEST(MixtureDev, AFurtherDevSetIsScoredOutsideTheAverage) {
  const auto c = mixture_config("mixture-eval-set", true,
                                {"train.steps=4", "train.eval_every=2", "optim.lr=0.3",
                                 "data.eval_set=[{name = \"sst2_again\", task = \"sst2\", dev = \"" + sst2_file() + "\"}]"});
  const auto sets = run_dev_sets(c);
  ASSERT_EQ(sets.size(), 3u);
  EXPECT_TRUE(sets[1].averaged);
  EXPECT_FALSE(sets[2].averaged);
  EXPECT_EQ(sets[2].key, "data.eval_set[0].dev");
  EXPECT_EQ(sets[2].rank_labels, sets[0].rank_labels);  // SST-2's labels, scored by rank
  auto& ps = ptuner::testing::single_rank();
  Trainer t(c, ps);
  t.run(false);
  int64_t evals = 0;
  std::ifstream in(c.run.dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (!j.contains("eval_average")) continue;
    ++evals;
    EXPECT_DOUBLE_EQ(j["eval_sst2_again/accuracy"].get<double>(), j["eval_sst2/accuracy"].get<double>());
    EXPECT_DOUBLE_EQ(j["eval_sst2_again/examples"].get<double>(), 48);
    EXPECT_DOUBLE_EQ(j["eval_examples"].get<double>(), 60);
    EXPECT_DOUBLE_EQ(j["eval_average"].get<double>(),
                     (j["eval_sst2/accuracy"].get<double>() + j["eval_cola/matthews_corr"].get<double>()) / 2);
  }
  EXPECT_EQ(evals, 2);
}

}  // namespace
}  // namespace ptuner::train
