// The `ptuner` executable as a user runs it: init-model, tokenize, train and eval, and the
// errors a typo or a wrong layout gives.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <nlohmann/json.hpp>

#include "tests/TestSupport.h"
#include "train/ConfigKeys.h"
#include "train/PromptExport.h"
#include "train/RunConfig.h"

namespace {

struct Result {
  int code;
  std::string output;
};

Result shell(const std::string& cmd) {
  FILE* pipe = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  int status = pclose(pipe);
  return {WEXITSTATUS(status), out};
}

Result run(const std::string& args) { return shell(std::string(PTUNER_BINARY) + " " + args); }

struct Cli : ::testing::Test {
  static void SetUpTestSuite() {
    root_ = ptuner::testing::temp_dir("cli");
    auto r = run("init-model --preset t5-tiny --out " + root_ + "/model --seed 3");
    ASSERT_EQ(r.code, 0) << r.output;
    ptuner::testing::write_sentiment_jsonl(root_ + "/train.jsonl", 64, 1);
    ptuner::testing::write_sentiment_jsonl(root_ + "/dev.jsonl", 8, 2);
    std::ofstream(root_ + "/run.toml") << "[run]\ndir = \"" << root_ << "/run\"\n[model]\npath = \"" << root_
                                       << "/model\"\n[data]\ntrain = \"" << root_ << "/train.jsonl\"\ndev = \""
                                       << root_ << "/dev.jsonl\"\nmax_input_length = 32\nmax_target_length = 4\nprefetch = 0\n"
                                       << "[train]\nsteps = 4\nbatch_size = 4\nlog_every = 2\n[prompt]\nlength = 4\n";
  }
  static std::string root_;
};
std::string Cli::root_;

TEST_F(Cli, InitModelWritesAnHfDirectory) {
  for (const char* f : {"config.json", "model.safetensors", "spiece.model"})
    EXPECT_TRUE(std::filesystem::exists(root_ + "/model/" + f)) << f;
  auto again = run("init-model --preset t5-tiny --out " + root_ + "/model");
  EXPECT_NE(again.code, 0);
  EXPECT_NE(again.output.find("refusing to overwrite"), std::string::npos) << again.output;
  auto bad = run("init-model --preset t5-huge --out " + root_ + "/x");
  EXPECT_NE(bad.output.find("unknown model preset 't5-huge'"), std::string::npos) << bad.output;
}

// A tokenizer with more ids than the preset's embedding rows (as the real 32,100-id T5 vocabulary on
// t5-tiny): the rows grow to its ids rounded up to a multiple of 128. A failed init-model leaves no directory.
TEST_F(Cli, InitModelSizesTheEmbeddingToTheTokenizerAndLeavesNothingWhenItFails) {
  namespace fs = std::filesystem;
  auto trained = run("init-model --preset t5-tiny --pieces 1200 --out " + root_ + "/big-vocab");
  ASSERT_EQ(trained.code, 0) << trained.output;  // 1300 ids, more than t5-tiny's 1152 rows
  EXPECT_NE(trained.output.find("using 1408 rows"), std::string::npos) << trained.output;
  auto copied = run("init-model --preset t5-tiny --tokenizer " + root_ + "/big-vocab/spiece.model --out " + root_ +
                    "/copied-vocab");
  ASSERT_EQ(copied.code, 0) << copied.output;
  for (const std::string dir : {"/big-vocab", "/copied-vocab"}) {
    std::ifstream in(root_ + dir + "/config.json");
    EXPECT_EQ(nlohmann::json::parse(in)["vocab_size"], 1408) << dir;
  }
  // The model it wrote loads and tokenizes with every id inside the embedding.
  auto tok = run("tokenize --tokenizer " + root_ + "/copied-vocab/spiece.model --json \"good <extra_id_0> food\"");
  ASSERT_EQ(tok.code, 0) << tok.output;
  // Failures: a missing or broken tokenizer, a corpus that cannot train one. Nothing is left behind.
  std::ofstream(root_ + "/broken.model") << "not a sentencepiece model";
  for (const std::string& args : {"--tokenizer " + root_ + "/none.model", "--tokenizer " + root_ + "/broken.model",
                                  "--corpus " + root_ + "/no-corpus.txt"}) {
    auto r = run("init-model --preset t5-tiny " + args + " --out " + root_ + "/failed");
    EXPECT_NE(r.code, 0) << args;
    EXPECT_FALSE(fs::exists(root_ + "/failed")) << args << ": " << r.output;
    for (const auto& entry : fs::directory_iterator(root_))
      EXPECT_EQ(entry.path().filename().string().find("failed.partial"), std::string::npos) << entry.path();
  }
}

TEST_F(Cli, TokenizeMapsSentinelsAndAppendsEos) {
  auto r = run("tokenize --tokenizer " + root_ + "/model/spiece.model --json \"good <extra_id_0> food\"");
  ASSERT_EQ(r.code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  auto ids = j["ids"].get<std::vector<int64_t>>();
  EXPECT_EQ(ids.back(), 1);
  EXPECT_NE(std::find(ids.begin(), ids.end(), 1099), ids.end());  // 1000 pieces + 99 − 0
  EXPECT_EQ(j["pieces"].back(), "</s>");
}

TEST_F(Cli, DataBenchRunsOneEpochOfTheLoader) {
  for (const char* prefetch : {"0", "2"}) {
    auto r = run("data bench --task jsonl --file " + root_ + "/train.jsonl --tokenizer " + root_ +
                 "/model/spiece.model --batch-size 8 --prefetch " + prefetch + " --json");
    ASSERT_EQ(r.code, 0) << r.output;
    auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
    EXPECT_EQ(j["examples_in_file"], 64);
    EXPECT_EQ(j["batches"], 8);
    EXPECT_EQ(j["examples"], 64);
    EXPECT_GT(j["tokens"].get<int64_t>(), 64);
    EXPECT_GT(j["examples_per_s"].get<double>(), 0);
    EXPECT_GT(j["padding_efficiency"].get<double>(), 0);
    EXPECT_LE(j["padding_efficiency"].get<double>(), 1);
  }
  auto missing = run("data bench --task jsonl --file " + root_ + "/nope.jsonl --tokenizer " + root_ +
                     "/model/spiece.model");
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.output.find("nope.jsonl"), std::string::npos) << missing.output;
}

// Every JSON the CLI writes is valid UTF-8: a skip reason quoting a record's invalid bytes and a
// path that is not UTF-8 come out with U+FFFD instead of a bare nlohmann type_error 316.
TEST_F(Cli, DataStatsAndBenchJsonAreValidUtf8) {
  const std::string file = root_ + "/bad-\xff-name.jsonl";
  std::ofstream(file) << "{\"inputs\": \"good\", \"targets\": \"x\"}\n"
                      << "{\"inputs\": \"caf\xe9 \xff\", \"targets\": \"x\"}\n"
                      << "{\"inputs\": \"also good\", \"targets\": \"y\"}\n";
  auto stats = run("data stats --task jsonl --file '" + file + "' --json");
  ASSERT_EQ(stats.code, 0) << stats.output;
  const std::string line = stats.output.substr(stats.output.rfind("{\"examples\""));
  const auto j = nlohmann::json::parse(line);  // throws on invalid UTF-8
  EXPECT_EQ(j["records"], 2);
  EXPECT_EQ(j["malformed"], 1);
  EXPECT_EQ(j["file"], root_ + "/bad-\xef\xbf\xbd-name.jsonl");
  EXPECT_NE(j["malformed_reasons"].dump().find("\xef\xbf\xbd"), std::string::npos) << j["malformed_reasons"];
  auto bench = run("data bench --task jsonl --file '" + file + "' --tokenizer " + root_ +
                   "/model/spiece.model --batch-size 2 --json");
  ASSERT_EQ(bench.code, 0) << bench.output;
  const auto b = nlohmann::json::parse(bench.output.substr(bench.output.rfind("{\"")));
  EXPECT_EQ(b["examples"], 2);
}

// data stats reads as training does: a test split (no labels) holds no training examples, and the error says so
// and how to read it as evaluation does.
TEST_F(Cli, DataStatsOnATestSplitSuggestsEval) {
  const std::string file = root_ + "/rte-test.jsonl";
  std::ofstream(file) << "{\"premise\": \"A cat sat.\", \"hypothesis\": \"A cat.\", \"idx\": 0}\n"
                      << "{\"premise\": \"A dog ran.\", \"hypothesis\": \"A cat.\", \"idx\": 1}\n";
  auto as_training = run("data stats --task rte --file " + file);
  EXPECT_EQ(as_training.code, 1) << as_training.output;
  EXPECT_NE(as_training.output.find("holds no examples (2 malformed records skipped): no record has a label, which "
                                    "looks like a test split (evaluation reads such rows); use --eval"),
            std::string::npos)
      << as_training.output;
  auto as_eval = run("data stats --task rte --file " + file + " --eval --json");
  ASSERT_EQ(as_eval.code, 0) << as_eval.output;
  EXPECT_EQ(nlohmann::json::parse(as_eval.output.substr(as_eval.output.rfind("{\"examples\"")))["examples"], 2);
  // `ptuner eval` on the test split: predictions for every row, no metric (training refuses it as data.dev).
  auto t = run("train " + root_ + "/run.toml --set 'run.dir=\"" + root_ + "/rte-eval-run\"' --set train.steps=1");
  ASSERT_EQ(t.code, 0) << t.output;
  auto e = run("eval " + root_ + "/run.toml --set 'data.task=\"rte\"' --set 'data.dev=\"" + file + "\"' --prompt " +
               root_ + "/rte-eval-run/checkpoint-last.h5 --predictions " + root_ + "/rte-test-predictions.txt");
  ASSERT_EQ(e.code, 0) << e.output;
  EXPECT_NE(e.output.find("none of its 2 examples has a label or answers (a test split?): predictions only, no metric"),
            std::string::npos)
      << e.output;
  const auto j = nlohmann::json::parse(e.output.substr(e.output.rfind("{\"checkpoint")));
  EXPECT_EQ(j["examples"], 0);
  EXPECT_FALSE(j.contains("accuracy"));
  const std::string predictions = ptuner::testing::read_file(root_ + "/rte-test-predictions.txt");
  EXPECT_EQ(std::count(predictions.begin(), predictions.end(), '\n'), 2);
  // The leaderboard file: SuperGLUE's RTE.jsonl in the directory given, one {"idx", "label"} per
  // row; by rank classification every label is legal.
  auto sub = run("eval " + root_ + "/run.toml --set 'data.task=\"rte\"' --set 'data.dev=\"" + file +
                 "\"' --set 'data.eval_method=\"rank\"' --prompt " + root_ +
                 "/rte-eval-run/checkpoint-last.h5 --submission " + root_ + "/submission/");
  ASSERT_EQ(sub.code, 0) << sub.output;
  const std::string rte = ptuner::testing::read_file(root_ + "/submission/RTE.jsonl");
  ASSERT_EQ(std::count(rte.begin(), rte.end(), '\n'), 2) << rte;
  std::istringstream rows(rte);
  int idx = 0;
  for (std::string row; std::getline(rows, row); ++idx) {
    const auto line = nlohmann::json::parse(row);
    EXPECT_EQ(line["idx"], idx);
    EXPECT_TRUE(line["label"] == "entailment" || line["label"] == "not_entailment") << row;
  }
  EXPECT_EQ(sub.output.find("no legal label"), std::string::npos) << sub.output;
  // A task without a leaderboard is refused before the model loads.
  auto none = run("eval " + root_ + "/run.toml --prompt " + root_ + "/rte-eval-run/checkpoint-last.h5 --submission " +
                  root_ + "/submission/");
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.output.find("--submission writes a GLUE or SuperGLUE leaderboard file, and data.task 'jsonl' has none"),
            std::string::npos)
      << none.output;
  EXPECT_EQ(none.output.find("loaded "), std::string::npos) << none.output;
}

// ptuner eval of a mixture's dev files: each task's metrics and their average, as training logs them.
TEST_F(Cli, EvalOfAMixtureScoresEachTaskAndTheirAverage) {
  const std::string sst2 = std::string(PTUNER_FIXTURES) + "/data/SST-2/dev.tsv";
  const std::string mixture = "--set 'data.train=\"\"' --set 'data.dev=\"\"' --set 'data.on_error=\"skip\"' "
                              "--set 'data.mixture=[{task = \"jsonl\", train = \"" + root_ + "/train.jsonl\", dev = \"" +
                              root_ + "/dev.jsonl\"}, {task = \"sst2\", train = \"" + sst2 + "\", dev = \"" + sst2 + "\"}]'";
  auto t = run("train " + root_ + "/run.toml " + mixture + " --set 'run.dir=\"" + root_ + "/mixture-run\"' --set train.steps=2");
  ASSERT_EQ(t.code, 0) << t.output;
  const std::string prompt = " --prompt " + root_ + "/mixture-run/checkpoint-last.h5";
  auto e = run("eval " + root_ + "/run.toml " + mixture + prompt);
  ASSERT_EQ(e.code, 0) << e.output;
  const auto j = nlohmann::json::parse(e.output.substr(e.output.rfind("{\"average")));
  EXPECT_DOUBLE_EQ(j["average"].get<double>(),
                   (j["jsonl/exact_match"].get<double>() + j["sst2/accuracy"].get<double>()) / 2);
  EXPECT_EQ(j["jsonl/examples"], 8);
  EXPECT_EQ(j["step"], 2);
  auto ensemble = run("eval " + root_ + "/run.toml " + mixture + prompt + prompt);
  EXPECT_NE(ensemble.code, 0);
  EXPECT_NE(ensemble.output.find("a mixture's dev files are evaluated for one --prompt without --predictions"),
            std::string::npos)
      << ensemble.output;
}

// ptuner report: the markdown table's numbers are metrics.jsonl's, and the plot is a PNG and an SVG.
TEST_F(Cli, ReportTablesMetricsAndPlotsThem) {
  const std::string dir = root_ + "/report-run";
  auto t = run("train " + root_ + "/run.toml --set 'run.dir=\"" + dir + "\"' --set train.steps=6 --set train.eval_every=2 "
               "--set train.log_every=1");
  ASSERT_EQ(t.code, 0) << t.output;
  auto r = run("report " + dir);
  ASSERT_EQ(r.code, 0) << r.output;
  // The expected row, from metrics.jsonl.
  double last_loss = 0, tokens = 0, wall = 0, best = -1, last_metric = 0;
  int64_t steps = 0, best_step = -1;
  std::ifstream in(dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("eval_exact_match")) {
      last_metric = j["eval_exact_match"].get<double>();
      if (last_metric > best) best = last_metric, best_step = j["step"].get<int64_t>();
    } else {
      last_loss = j["loss"].get<double>();
      tokens += j["tokens_per_s"].get<double>();
      wall = std::max(wall, j["elapsed_s"].get<double>());
      ++steps;
    }
  }
  ASSERT_EQ(steps, 6);
  const std::string row = fmt::format("| report-run | exact_match | {:.4f} | {:.4f} ({}) | {:.4f} | {:.0f} | {:.1f} s | {} | "
                                      "shallow | tp=1 pp=1 dp=1 |",
                                      last_metric, best, best_step, last_loss, tokens / steps, wall, 4 * 64);
  EXPECT_NE(r.output.find(row), std::string::npos) << row << "\n" << r.output;
  EXPECT_NE(ptuner::testing::read_file(dir + "/report.md").find(row), std::string::npos);
  EXPECT_EQ(ptuner::testing::read_file(dir + "/report.png").substr(0, 8), "\x89PNG\r\n\x1a\n");
  EXPECT_NE(ptuner::testing::read_file(dir + "/report.svg").find("<svg"), std::string::npos);
  // Two runs overlaid, written elsewhere; a directory without metrics is named.
  auto two = run("report " + dir + " " + dir + " --out " + root_ + "/report-two");
  ASSERT_EQ(two.code, 0) << two.output;
  EXPECT_TRUE(std::filesystem::exists(root_ + "/report-two/report.png"));
  auto none = run("report " + root_ + "/model");
  EXPECT_NE(none.code, 0);
  EXPECT_NE(none.output.find(root_ + "/model/metrics.jsonl does not exist"), std::string::npos) << none.output;
  // A further dev set added on resume at step 6 (step 8 has it, 2, 4 and 6 not): the report and its plot
  // take each metric at its own steps, and the second table gives it at the best step ("—" where
  // that evaluation did not have it).
  const std::string sets = root_ + "/report-sets";
  std::filesystem::copy(dir, sets, std::filesystem::copy_options::recursive);
  auto more = run("train " + root_ + "/run.toml --set 'run.dir=\"" + sets + "\"' --set train.steps=8 --set " +
                  "train.eval_every=2 --set train.log_every=1 --resume --set 'data.eval_set=[{name=\"again\", dev=\"" +
                  root_ + "/dev.jsonl\"}]'");
  ASSERT_EQ(more.code, 0) << more.output;
  auto rs = run("report " + sets);
  ASSERT_EQ(rs.code, 0) << rs.output;
  {
    double top = -1, again = -1;
    int64_t top_step = -1;
    std::ifstream lines(sets + "/metrics.jsonl");
    for (std::string line; std::getline(lines, line);) {
      const auto j = nlohmann::json::parse(line);
      if (!j.contains("eval_exact_match") || j["eval_exact_match"].get<double>() <= top) continue;
      top = j["eval_exact_match"].get<double>(), top_step = j["step"].get<int64_t>();
      again = j.contains("eval_again/exact_match") ? j["eval_again/exact_match"].get<double>() : -1;
    }
    const std::string named = fmt::format("| report-sets | {} (exact_match) | again/exact_match | {} |", top_step,
                                          again < 0 ? "—" : fmt::format("{:.4f}", again));
    EXPECT_NE(rs.output.find(named), std::string::npos) << named << "\n" << rs.output;
  }
  EXPECT_EQ(ptuner::testing::read_file(sets + "/report.png").substr(0, 8), "\x89PNG\r\n\x1a\n");
  const auto data = nlohmann::json::parse(ptuner::testing::read_file(sets + "/report-data.json"));
  EXPECT_EQ(data["runs"][0]["eval_steps"]["again/exact_match"], (std::vector<int64_t>{8}));
  EXPECT_EQ(data["runs"][0]["eval_steps"]["exact_match"], (std::vector<int64_t>{2, 4, 6, 8}));
  // A run killed while writing a line: the report drops the cut last line (as a resume does) and
  // tables the rest; a bad line before the last is an error naming the file and line.
  const std::string cut = root_ + "/report-cut";
  std::filesystem::copy(dir, cut, std::filesystem::copy_options::recursive);
  const std::string whole = ptuner::testing::read_file(cut + "/metrics.jsonl");
  const std::string cut_line = std::to_string(std::count(whole.begin(), whole.end(), '\n') + 1);
  std::ofstream(cut + "/metrics.jsonl", std::ios::app) << "{\"step\": 7, \"lo";
  auto c = run("report " + cut);
  ASSERT_EQ(c.code, 0) << c.output;
  EXPECT_NE(c.output.find("| report-cut " + row.substr(std::string("| report-run ").size())), std::string::npos)
      << c.output;
  EXPECT_NE(c.output.find(cut + "/metrics.jsonl:" + cut_line + ": dropping a cut last line"),
            std::string::npos)
      << c.output;
  std::ofstream(cut + "/metrics.jsonl", std::ios::app) << "\n{\"step\": 8}\n";
  auto bad = run("report " + cut);
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.output.find(cut + "/metrics.jsonl:" + cut_line + ": not a metrics record"),
            std::string::npos)
      << bad.output;
}

// Every paper config fits its layout on 8×80 GB (`ptuner plan`) and passes a dry run at that layout under mpirun
// (config, layout, the data files read through, evaluation needs, a SPoT target's source prompt), with the
// architecture as a preset (the weights are not here). The dry runs read the configs' own data paths, from a
// directory laid out as SuperGLUE and GLUE ship (data/super_glue/BoolQ/train.jsonl, data/glue/CoLA/train.tsv, ...)
// that links the repository's fixtures; the SPoT targets' source is a prompt checkpoint of the XXL preset where
// the source run would leave it.
TEST_F(Cli, PaperConfigsFitTheirLayoutAndPassADryRun) {
  namespace fs = std::filesystem;
  const std::string fixtures = std::string(PTUNER_FIXTURES) + "/data/", cwd = root_ + "/paper";
  const auto link = [&](const std::string& target, const std::string& name) {
    fs::create_directories(fs::path(cwd + "/" + name).parent_path());
    fs::create_symlink(target, cwd + "/" + name);
  };
  // ReCoRD's fixture is dev-shaped (a question without answers in each passage): its first passage without that
  // question trains.
  {
    std::ifstream in(fixtures + "ReCoRD/val.jsonl");
    std::string line;
    std::getline(in, line);
    auto j = nlohmann::json::parse(line);
    j["qas"].erase(2);
    std::ofstream(root_ + "/record-train.jsonl") << j.dump() << "\n";
  }
  for (const char* task : {"BoolQ", "CB", "COPA", "MultiRC", "ReCoRD", "RTE", "WiC", "WSC"}) {
    const std::string dir = std::string("data/super_glue/") + task + "/";
    link(fixtures + task + "/val.jsonl", dir + "val.jsonl");
    link(std::string(task) == "ReCoRD" ? root_ + "/record-train.jsonl" : fixtures + task + "/val.jsonl",
         dir + "train.jsonl");
  }
  const std::map<std::string, std::string> glue = {{"CoLA", "CoLA/dev.tsv"}, {"SST-2", "SST-2/dev.tsv"},
                                                   {"MRPC", "MRPC/dev.tsv"}, {"QQP", "QQP/dev.tsv"},
                                                   {"STS-B", "STS-B/dev.tsv"}, {"MNLI", "MNLI/train.tsv"},
                                                   {"QNLI", "QNLI/dev.tsv"}, {"RTE", "RTE-GLUE/dev.tsv"}};
  for (const auto& [task, file] : glue) link(fixtures + file, "data/glue/" + task + "/train.tsv");
  // MRQA 2019 as shipped (train/ and dev/ .jsonl.gz): the one fixture stands for each file.
  for (const char* file : {"train/SQuAD", "dev/SQuAD", "dev/TextbookQA", "dev/BioASQ", "dev/RACE",
                           "dev/RelationExtraction", "dev/DuoRC.ParaphraseRC", "dev/DROP"})
    link(fixtures + "MRQA/SQuAD-dev.jsonl.gz", std::string("data/mrqa/") + file + ".jsonl.gz");
  // The SPoT source's last checkpoint: a 100-token prompt of the t5.1.1-xxl preset's frozen model.
  {
    const auto source = ptuner::train::RunConfig::from_string(
        "[model]\npreset = \"t5.1.1-xxl\"\n[prompt]\nlength = 100\n", "spot source");
    torch::manual_seed(0);
    fs::create_directories(cwd + "/runs/spot-xxl-source-glue");
    ptuner::train::shallow_checkpoint(torch::randn({100, 4096}) * 0.5, source, ptuner::train::frozen_fingerprint(source))
        .save(cwd + "/runs/spot-xxl-source-glue/checkpoint-last.h5");
  }
  std::map<std::string, int> suites;
  for (const auto& entry : fs::directory_iterator(std::string(PTUNER_SOURCE_DIR) + "/configs/paper")) {
    const std::string path = entry.path().string(), name = entry.path().stem().string();
    if (entry.path().extension() != ".toml") continue;
    ++suites[name.substr(0, name.rfind('-'))];
    const std::string preset = name.find("-base-") != std::string::npos ? "t5.1.1-base" : "t5.1.1-xxl";
    const std::string model = " --set 'model.path=\"\"' --set 'model.preset=\"" + preset + "\"'";
    auto plan = run("plan " + path + model + " --device-memory 80GiB");
    EXPECT_EQ(plan.code, 0) << name << ": " << plan.output;
    EXPECT_NE(plan.output.find("of 80.00 GiB: fits"), std::string::npos) << name << ": " << plan.output;
    auto dry = shell("cd " + cwd + " && mpirun --allow-run-as-root --oversubscribe -np 8 -x OMP_NUM_THREADS=1 " +
                     std::string(PTUNER_BINARY) + " train " + path + model +
                     " --set 'data.on_error=\"skip\"' --set 'run.dir=\"" + root_ + "/dry-" + name + "\"' --dry-run");
    EXPECT_EQ(dry.code, 0) << name << ": " << dry.output;
    EXPECT_NE(dry.output.find("over 8 ranks"), std::string::npos) << name << ": " << dry.output;
    EXPECT_NE(dry.output.find("dry run: nothing loaded or trained"), std::string::npos) << name << ": " << dry.output;
    EXPECT_FALSE(fs::exists(root_ + "/dry-" + name)) << name;  // nothing written
    if (name.rfind("spot-xxl-", 0) == 0 && name != "spot-xxl-source-glue") {
      EXPECT_NE(dry.output.find("prompt.init_file runs/spot-xxl-source-glue/checkpoint-last.h5: 100 × 4096 prompt of "
                                "this frozen model"),
                std::string::npos)
          << name << ": " << dry.output;
    }
    if (name == "lester-ood-xxl-squad") {
      EXPECT_NE(dry.output.find("data.dev data/mrqa/dev/SQuAD.jsonl.gz: "), std::string::npos) << dry.output;
      EXPECT_NE(dry.output.find("data.eval_set[5].dev data/mrqa/dev/DROP.jsonl.gz (as drop/…): "), std::string::npos)
          << dry.output;
    }
    if (name == "spot-xxl-source-glue") {
      for (const char* task : {"cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "qnli", "glue_rte"}) {
        EXPECT_NE(dry.output.find("(" + std::string(task) + "): "), std::string::npos) << task << ": " << dry.output;
      }
    }
  }
  // Lester (XXL), SPoT (XXL: the GLUE source and 8 targets), residual (base) and deep (XXL) on the 8 SuperGLUE tasks;
  // Lester's domain shift (SQuAD, six out-of-domain MRQA sets).
  EXPECT_EQ(suites, (std::map<std::string, int>{{"deep-xxl", 8},
                                                {"lester-xxl", 8},
                                                {"lester-ood-xxl", 1},
                                                {"residual-base", 8},
                                                {"spot-xxl", 8},
                                                {"spot-xxl-source", 1}}));
  // A dry run fails as the run would: a missing training file, named; a SPoT target whose source has not run.
  auto missing = run("train " + root_ + "/run.toml --set 'data.train=\"" + root_ + "/none.jsonl\"' --dry-run");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.output.find(root_ + "/none.jsonl"), std::string::npos) << missing.output;
  auto no_source = run("train " + root_ + "/run.toml --set 'prompt.init=\"file\"' --set 'prompt.init_file=\"" + root_ +
                       "/none.h5\"' --dry-run");
  EXPECT_EQ(no_source.code, 1);
  EXPECT_NE(no_source.output.find("prompt.init_file " + root_ + "/none.h5 does not exist (a fresh run needs its source"),
            std::string::npos)
      << no_source.output;
  // A source of another width is refused as the run would refuse it.
  auto other = run("train " + root_ + "/run.toml --set 'prompt.init=\"file\"' --set 'prompt.init_file=\"" + cwd +
                   "/runs/spot-xxl-source-glue/checkpoint-last.h5\"' --dry-run");
  EXPECT_EQ(other.code, 1);
  EXPECT_NE(other.output.find("was trained on another frozen model"), std::string::npos) << other.output;
}

TEST_F(Cli, TrainThenEvalPrintsMetricsAsJson) {
  auto t = run("train " + root_ + "/run.toml");
  ASSERT_EQ(t.code, 0) << t.output;
  EXPECT_NE(t.output.find("step 4/4"), std::string::npos) << t.output;
  auto e = run("eval " + root_ + "/run.toml --prompt " + root_ + "/run/checkpoint-last.h5");
  ASSERT_EQ(e.code, 0) << e.output;
  auto j = nlohmann::json::parse(e.output.substr(e.output.rfind("{\"checkpoint")));
  EXPECT_EQ(j["examples"].get<double>(), 8.0);
  EXPECT_EQ(j["step"].get<int64_t>(), 4);
  EXPECT_GE(j["exact_match"].get<double>(), 0.0);
  // A further dev set (the dev file again, and 5 other rows) beside data.dev: its metrics under its
  // name; --predictions still writes data.dev's, one per example.
  ptuner::testing::write_sentiment_jsonl(root_ + "/other-dev.jsonl", 5, 7);
  auto more = run("eval " + root_ + "/run.toml --prompt " + root_ + "/run/checkpoint-last.h5 --set 'data.eval_set=[{name=" +
                  "\"again\", dev=\"" + root_ + "/dev.jsonl\"}, {name=\"other\", dev=\"" + root_ +
                  "/other-dev.jsonl\"}]' --predictions " + root_ + "/eval-predictions.txt");
  ASSERT_EQ(more.code, 0) << more.output;
  auto m = nlohmann::json::parse(more.output.substr(more.output.rfind("{\"again")));
  EXPECT_EQ(m["again/exact_match"], j["exact_match"]);
  EXPECT_EQ(m["exact_match"], j["exact_match"]);
  EXPECT_EQ(m["again/examples"].get<double>(), 8.0);
  EXPECT_EQ(m["other/examples"].get<double>(), 5.0);
  EXPECT_EQ(m["examples"].get<double>(), 8.0);
  // A missing set's file is named before the model loads.
  auto missing = run("eval " + root_ + "/run.toml --prompt " + root_ + "/run/checkpoint-last.h5 --set " +
                     "'data.eval_set=[{name=\"other\", dev=\"" + root_ + "/none.jsonl\"}]'");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.output.find("data.eval_set[0].dev " + root_ + "/none.jsonl does not exist"), std::string::npos)
      << missing.output;
  EXPECT_EQ(missing.output.find("loaded "), std::string::npos) << missing.output;
  std::ifstream predictions(root_ + "/eval-predictions.txt");
  int lines = 0;
  for (std::string line; std::getline(predictions, line);) ++lines;
  EXPECT_EQ(lines, 8);
}

TEST_F(Cli, PromptToolsExportImportRankEnsembleAndPredict) {
  const std::string run_dir = root_ + "/tools";
  auto t = run("train " + root_ + "/run.toml --set run.dir=\"" + run_dir + "\"");
  ASSERT_EQ(t.code, 0) << t.output;
  const std::string ck = run_dir + "/checkpoint-last.h5";
  // PEFT: export, import, and the imported prompt ranks first against its own source.
  auto ex = run("prompt export " + ck + " --format peft --out " + root_ + "/adapter");
  ASSERT_EQ(ex.code, 0) << ex.output;
  auto im = run("prompt import " + root_ + "/adapter --config " + root_ + "/run.toml --out " + root_ + "/imported.h5");
  ASSERT_EQ(im.code, 0) << im.output;
  auto sim = run("prompt similarity " + ck + " " + root_ + "/imported.h5 --json");
  ASSERT_EQ(sim.code, 0) << sim.output;
  auto j = nlohmann::json::parse(sim.output.substr(sim.output.find('{')));
  EXPECT_NEAR(j["sources"][0]["average_token"].get<double>(), 1.0, 1e-9);
  auto nb = run("prompt neighbors " + ck + " --model " + root_ + "/model --k 2 --json");
  ASSERT_EQ(nb.code, 0) << nb.output;
  EXPECT_EQ(nlohmann::json::parse(nb.output.substr(nb.output.find('[')))[0].size(), 2u);
  // An ensemble of the prompt and its import: each prompt's metrics and the ensemble's.
  auto en = run("eval " + root_ + "/run.toml --prompt " + ck + " --prompt " + root_ + "/imported.h5");
  ASSERT_EQ(en.code, 0) << en.output;
  auto e = nlohmann::json::parse(en.output.substr(en.output.rfind("{\"ensemble")));
  EXPECT_EQ(e["prompts"].size(), 2u);
  EXPECT_EQ(e["prompts"][0]["exact_match"], e["ensemble"]["exact_match"]);
  // … and on a further dev set (data.dev again): each prompt's and the ensemble's metrics under its name.
  auto en2 = run("eval " + root_ + "/run.toml --prompt " + ck + " --prompt " + root_ + "/imported.h5 --set " +
                 "'data.eval_set=[{name=\"again\", dev=\"" + root_ + "/dev.jsonl\"}]'");
  ASSERT_EQ(en2.code, 0) << en2.output;
  auto e2 = nlohmann::json::parse(en2.output.substr(en2.output.rfind("{\"ensemble")));
  for (const auto& m : {e2["prompts"][0], e2["prompts"][1], e2["ensemble"]}) {
    EXPECT_EQ(m["again/exact_match"], m["exact_match"]) << e2.dump();
    EXPECT_EQ(m["again/examples"].get<double>(), 8.0);
  }
  EXPECT_EQ(e2["ensemble"]["exact_match"], e["ensemble"]["exact_match"]);
  // Predict: rows of two tasks in one file.
  std::ofstream(root_ + "/rows.jsonl") << "{\"task\": \"a\", \"inputs\": \"review: the food was great\"}\n"
                                       << "{\"task\": \"b\", \"inputs\": \"review: the room was cold\"}\n";
  auto pr = run("predict " + root_ + "/run.toml --prompt a=" + ck + " --prompt b=" + root_ + "/imported.h5 --input " +
                root_ + "/rows.jsonl --output " + root_ + "/predictions.jsonl");
  ASSERT_EQ(pr.code, 0) << pr.output;
  std::ifstream in(root_ + "/predictions.jsonl");
  std::string line;
  int rows = 0;
  while (std::getline(in, line)) {
    EXPECT_TRUE(nlohmann::json::parse(line).contains("prediction")) << line;
    ++rows;
  }
  EXPECT_EQ(rows, 2);
  auto unknown = run("predict " + root_ + "/run.toml --prompt a=" + ck + " --input " + root_ + "/rows.jsonl --output " +
                     root_ + "/p2.jsonl");
  EXPECT_NE(unknown.output.find("rows.jsonl:2: task 'b' has no --prompt"), std::string::npos) << unknown.output;
}

TEST_F(Cli, SpotDriverRunsTheRecipeAndPrintsTheTable) {
  const std::string src = PTUNER_SOURCE_DIR;
  auto made = shell(src + "/launch/make-spot-tasks " + root_ + "/spot-tasks 200 32 24");
  ASSERT_EQ(made.code, 0) << made.output;
  const std::string tasks = root_ + "/spot-tasks";
  std::ofstream(root_ + "/spot.toml") << "[model]\npath = \"" << root_ << "/model\"\n[data]\ntrain = \"" << tasks
                                      << "/sentiment/train.jsonl\"\ndev = \"" << tasks
                                      << "/sentiment/dev.jsonl\"\nmax_input_length = 40\nmax_target_length = 4\n"
                                      << "prefetch = 0\n[train]\nsteps = 6\nbatch_size = 8\neval_every = 3\n"
                                      << "log_every = 3\n[prompt]\nlength = 4\n";
  auto r = shell("PTUNER_BIN=" + std::string(PTUNER_BINARY) + " SPOT_SOURCE_STEPS=6 SPOT_EMBED_STEPS=3 " + src +
                 "/launch/spot " + root_ + "/spot.toml " + root_ + "/spot opinion=" + tasks +
                 "/opinion/train.jsonl subject=" + tasks + "/subject/train.jsonl length=" + tasks +
                 "/length/train.jsonl");
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* source : {"source-opinion", "source-subject", "source-length"})
    EXPECT_NE(r.output.find(source), std::string::npos) << source << "\n" << r.output;
  EXPECT_NE(r.output.find("average-token   per-token"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("target init: " + root_ + "/spot/init.h5"), std::string::npos) << r.output;
  // Both target runs report a dev metric.
  for (const char* row : {"SPoT init (weighted-average)", "the config's own prompt.init"}) {
    const auto at = r.output.find(row);
    ASSERT_NE(at, std::string::npos) << row << "\n" << r.output;
    const auto line = r.output.substr(at, r.output.find('\n', at) - at);
    const double value = std::stod(line.substr(line.find_last_of(' ') + 1));
    EXPECT_GE(value, 0.0) << line;
    EXPECT_LE(value, 1.0) << line;
  }
}

// The last_loss of every logged step of a run.
std::vector<double> last_losses(const std::string& dir) {
  std::vector<double> out;
  std::ifstream in(dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("last_loss")) out.push_back(j["last_loss"].get<double>());
  }
  return out;
}

TEST_F(Cli, SigtermStopsAtAStepWithACheckpointAndResumesBitForBit) {
  const std::string bin = PTUNER_BINARY, cfg = root_ + "/run.toml";
  const std::string sets = " --set train.steps=400 --set train.log_every=1 --set data.prefetch=0";
  auto straight = run("train " + cfg + sets + " --set run.dir=\"" + root_ + "/sig-straight\"");
  ASSERT_EQ(straight.code, 0) << straight.output;
  // SIGTERM once the run has logged a step; it ends with code 75 and a checkpoint at that step.
  const std::string dir = root_ + "/sig-stopped";
  auto stopped = shell("(" + bin + " train " + cfg + sets + " --set run.dir=\"" + dir + "\" > " + root_ +
                       "/sig.log 2>&1 & pid=$!; while [ ! -s " + dir + "/metrics.jsonl ]; do sleep 0.05; done; " +
                       "kill -TERM $pid; wait $pid; echo exit=$?)");
  EXPECT_NE(stopped.output.find("exit=75"), std::string::npos) << stopped.output << ptuner::testing::read_file(root_ + "/sig.log");
  EXPECT_NE(ptuner::testing::read_file(root_ + "/sig.log").find("stopped by a signal"), std::string::npos);
  ASSERT_TRUE(std::filesystem::exists(dir + "/checkpoint-last.h5"));
  auto resumed = run("train " + cfg + sets + " --set run.dir=\"" + dir + "\" --resume");
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_EQ(last_losses(dir), last_losses(root_ + "/sig-straight"));  // every step, bit for bit
}

TEST_F(Cli, UnderMpirunEveryRankStopsAtTheSameStepAndTheRunResumesBitForBit) {
  const std::string mpirun = "OMP_NUM_THREADS=1 mpirun --allow-run-as-root --oversubscribe -np 2 " +
                             std::string(PTUNER_BINARY) + " train " + root_ + "/run.toml";
  const std::string sets =
      " --set train.steps=300 --set train.log_every=1 --set data.prefetch=0 --set parallel.dp=2";
  auto straight = shell(mpirun + sets + " --set run.dir=\"" + root_ + "/mpi-straight\"");
  ASSERT_EQ(straight.code, 0) << straight.output;
  // mpirun forwards SIGUSR1 to every rank: exit 75 (mpirun itself ends with 1 on SIGTERM, after
  // the ranks have written the same checkpoint).
  const std::string dir = root_ + "/mpi-stopped";
  auto stopped = shell("(" + mpirun + sets + " --set run.dir=\"" + dir + "\" > " + root_ +
                       "/mpi-sig.log 2>&1 & pid=$!; while [ ! -s " + dir + "/metrics.jsonl ]; do sleep 0.05; done; " +
                       "kill -USR1 $pid; wait $pid; echo exit=$?)");
  EXPECT_NE(stopped.output.find("exit=75"), std::string::npos)
      << stopped.output << ptuner::testing::read_file(root_ + "/mpi-sig.log");
  ASSERT_TRUE(std::filesystem::exists(dir + "/checkpoint-last.h5"));
  auto resumed = shell(mpirun + sets + " --set run.dir=\"" + dir + "\" --resume");
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_EQ(last_losses(dir), last_losses(root_ + "/mpi-straight"));
}

TEST_F(Cli, AStoppedRankEndsTheJobWithinTheTimeoutNamingTheOperationAndPeer) {
  const std::string dir = root_ + "/hang";
  // dp = 2; once a step is logged, SIGSTOP one rank: the other waits in a collective for it.
  auto r = shell("(OMP_NUM_THREADS=1 mpirun --allow-run-as-root --oversubscribe -np 2 " + std::string(PTUNER_BINARY) +
                 " train " + root_ + "/run.toml --set train.steps=100000 --set train.log_every=1 --set data.prefetch=0 "
                 "--set parallel.dp=2 --set dist.timeout_s=5 --set run.dir=\"" + dir + "\" > " + root_ +
                 "/hang.log 2>&1 & pid=$!; while [ ! -s " + dir + "/metrics.jsonl ]; do sleep 0.05; done; " +
                 "victim=$(pgrep -n -f 'ptuner train .*" + dir + "'); kill -STOP $victim; start=$(date +%s); " +
                 // Which rank was stopped: the newest process is not always rank 1 (Open MPI 6).
                 "echo victim_rank=$(tr '\\0' '\\n' < /proc/$victim/environ | sed -n 's/^OMPI_COMM_WORLD_RANK=//p'); " +
                 "wait $pid; echo exit=$? after=$(( $(date +%s) - start )); kill -9 $victim 2>/dev/null; true)");
  const auto log = ptuner::testing::read_file(root_ + "/hang.log");
  EXPECT_EQ(r.output.find("exit=0"), std::string::npos) << r.output;
  const auto at = r.output.find("after=");
  ASSERT_NE(at, std::string::npos) << r.output;
  EXPECT_LT(std::stoi(r.output.substr(at + 6)), 20) << r.output;  // 5 s, plus the abort
  EXPECT_NE(log.find("has waited"), std::string::npos) << log;
  EXPECT_NE(log.find("(dist.timeout_s = 5)"), std::string::npos) << log;
  const auto victim = r.output.find("victim_rank=");
  ASSERT_NE(victim, std::string::npos) << r.output;
  const std::string rank = r.output.substr(victim + 12, 1);
  ASSERT_TRUE(rank == "0" || rank == "1") << r.output;
  EXPECT_NE(log.find("for world rank " + rank), std::string::npos) << "stopped rank " << rank << "\n" << log;
}

TEST_F(Cli, AFullDiskFailsTheSaveCleanlyKeepingTheOldCheckpoint) {
  const std::string cfg = root_ + "/run.toml", dir = root_ + "/full";
  auto first = run("train " + cfg + " --set train.steps=2 --set run.dir=\"" + dir + "\"");
  ASSERT_EQ(first.code, 0) << first.output;
  const auto before = ptuner::testing::read_file(dir + "/checkpoint-last.h5");
  // The next save's file is /dev/full: every write fails with ENOSPC, as on a full disk.
  std::filesystem::create_symlink("/dev/full", dir + "/checkpoint-last.h5.tmp");
  auto full = run("train " + cfg + " --set train.steps=4 --set run.dir=\"" + dir + "\" --resume");
  EXPECT_EQ(full.code, 1) << full.output;  // an error, not a crash at exit
  EXPECT_NE(full.output.find("checkpoint-last.h5.tmp"), std::string::npos) << full.output;
  EXPECT_NE(full.output.find("No space left on device"), std::string::npos) << full.output;
  EXPECT_EQ(ptuner::testing::read_file(dir + "/checkpoint-last.h5"), before);
  EXPECT_FALSE(std::filesystem::exists(dir + "/checkpoint-last.h5.tmp"));
}

TEST_F(Cli, ConfigTypoFailsNamingTheKey) {
  auto r = run("train " + root_ + "/run.toml --set optim.learning_rate=0.1");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("unknown key 'optim.learning_rate'"), std::string::npos) << r.output;
}

TEST_F(Cli, PlanCoversEveryRankOfT5XxlAndSumsToItsParameters) {
  std::ofstream(root_ + "/xxl.toml") << "[model]\npreset = \"t5.1.1-xxl\"\ntokenizer = \"unused\"\ndtype = \"bfloat16\"\n"
                                     << "[data]\ntrain = \"unused\"\n[parallel]\ntp = 8\npp = 4\nmicro_batches = 4\n";
  auto r = run("plan " + root_ + "/xxl.toml --json --device-memory 80GiB");
  ASSERT_EQ(r.code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  EXPECT_EQ(j["total_parameters"].get<int64_t>(), 11135332352);
  EXPECT_EQ(j["owned_parameters_sum"].get<int64_t>(), 11135332352);
  ASSERT_EQ(j["ranks"].size(), 32u);
  EXPECT_EQ(j["ranks"][31]["pp"].get<int>(), 3);
  EXPECT_TRUE(j["fits"].get<bool>());
  auto small = run("plan " + root_ + "/xxl.toml --device-memory 1GiB");
  EXPECT_EQ(small.code, 3) << small.output;
  EXPECT_NE(small.output.find("DOES NOT FIT"), std::string::npos);
}

// A GPU job planned on a CPU node: this LibTorch (1.13, no CUDA) runs attention written out, so
// auto plans that; --attention fused plans the kernel a CUDA LibTorch >= 2.1 takes, and T5-XXL
// at batch 48 fits an H200's budget only then (95 GiB against 242).
TEST_F(Cli, PlanAssumesTheAttentionKernelOfTheRun) {
  std::ofstream(root_ + "/xxl1.toml") << "[model]\npreset = \"t5.1.1-xxl\"\ntokenizer = \"unused\"\ndtype = \"bfloat16\"\n"
                                      << "[data]\ntrain = \"unused\"\nmax_input_length = 512\nmax_target_length = 16\n"
                                      << "[train]\nbatch_size = 48\n";
  auto plan = [&](const std::string& extra) { return run("plan " + root_ + "/xxl1.toml --device-memory 130GiB" + extra); };
  auto automatic = plan("");
  EXPECT_EQ(automatic.code, 3) << automatic.output;
  EXPECT_NE(automatic.output.find("written-out attention"), std::string::npos) << automatic.output;
  auto fused = plan(" --attention fused");
  EXPECT_EQ(fused.code, 0) << fused.output;
  EXPECT_NE(fused.output.find("fused attention; largest rank"), std::string::npos) << fused.output;
  auto json = plan(" --attention fused --json").output;
  auto j = nlohmann::json::parse(json.substr(json.find('{')));
  EXPECT_EQ(j["attention"].get<std::string>(), "fused");
  auto typo = plan(" --attention flash");
  EXPECT_NE(typo.code, 0);
  EXPECT_NE(typo.output.find("--attention"), std::string::npos) << typo.output;
}

// Where the config has a dev set, the plan counts evaluation too: T5-XXL on one 36 GiB device
// trains at micro-batch 8 (20.74 GiB of weights, 12.32 of activations) but its decoder caches for
// 128 evaluation rows (25.3 GiB) do not fit beside the weights.
TEST_F(Cli, PlanCountsEvaluationWhereTheConfigHasADevSet) {
  std::ofstream(root_ + "/xxl-eval.toml") << "[model]\npreset = \"t5.1.1-xxl\"\ntokenizer = \"unused\"\ndtype = \"bfloat16\"\n"
                                          << "[data]\ntrain = \"unused\"\nmax_input_length = 512\nmax_target_length = 16\n"
                                          << "eval_batch_size = 128\n[train]\nbatch_size = 8\n";
  auto plan = [&](const std::string& extra) {
    return run("plan " + root_ + "/xxl-eval.toml --attention fused --device-memory 36GiB" + extra);
  };
  auto train_only = plan("");
  EXPECT_EQ(train_only.code, 0) << train_only.output;
  EXPECT_NE(train_only.output.find("no dev set to evaluate"), std::string::npos) << train_only.output;
  auto with_dev = plan(" --set data.dev=\"dev.jsonl\"");
  EXPECT_EQ(with_dev.code, 3) << with_dev.output;
  EXPECT_NE(with_dev.output.find("evaluation 128 rows (greedy)"), std::string::npos) << with_dev.output;
  EXPECT_NE(with_dev.output.find("DOES NOT FIT"), std::string::npos) << with_dev.output;
  auto json = plan(" --set data.dev=\"dev.jsonl\" --set data.eval_batch_size=16 --json").output;
  auto j = nlohmann::json::parse(json.substr(json.find('{')));
  EXPECT_TRUE(j["fits"].get<bool>()) << json;
  EXPECT_EQ(j["eval_rows"].get<int64_t>(), 16);
  const auto& r = j["ranks"][0];
  EXPECT_GT(r["eval_cache_bytes"].get<int64_t>(), 0);
  EXPECT_LT(r["eval_bytes"].get<int64_t>(), r["activation_bytes"].get<int64_t>());  // 16 rows: training's is larger
  EXPECT_EQ(r["total_bytes"].get<int64_t>(), r["weight_bytes"].get<int64_t>() + r["activation_bytes"].get<int64_t>());
}

TEST_F(Cli, BenchPrintsStepTimesFlopRatesAndTheFullFinetuneBaseline) {
  auto r = run("bench " + root_ + "/run.toml --steps 2 --warmup 1 --synthetic --full-finetune-baseline --out " + root_ +
               "/bench.json");
  ASSERT_EQ(r.code, 0) << r.output;
  std::ifstream in(root_ + "/bench.json");
  auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["parameters"].get<int64_t>(), 345088);  // t5-tiny
  EXPECT_EQ(j["data"], "synthetic");
  for (const char* phase : {"frozen", "full_finetune"}) {
    const auto& p = j[phase];
    EXPECT_EQ(p["steps"].get<int>(), 2) << phase;
    EXPECT_GT(p["tokens_per_s"].get<double>(), 0) << phase;
    EXPECT_GT(p["step_time_s"]["mean"].get<double>(), 0) << phase;
    EXPECT_GT(p["model_flops_per_s"].get<double>(), 0) << phase;
    EXPECT_EQ(p["bubble"]["ideal"].get<double>(), 0.0) << phase;  // pp = 1
    EXPECT_EQ(p["comm_s_per_step"]["p2p"].get<double>(), 0.0) << phase;  // no pipeline: no p2p
    EXPECT_EQ(p["comm_bytes_per_step"]["p2p"].get<double>(), 0.0) << phase;
    // tp = 1: no tensor crosses the TP group; only the step's non-finite check (one double).
    EXPECT_EQ(p["comm_calls_per_step"]["tp"].get<double>(), 1.0) << phase;
    EXPECT_EQ(p["comm_bytes_per_step"]["tp"].get<double>(), 8.0) << phase;
    EXPECT_EQ(p["peak_rss_mib_per_rank"].size(), 1u) << phase;
    EXPECT_EQ(p["compute_clock"].get<std::string>(), "process CPU time") << phase;  // a CPU rank
    // One stage, always busy: its forward and backward fill the flush (the host's clock).
    EXPECT_GT(p["bubble"]["measured"].get<double>(), -1e-9) << phase;
    EXPECT_LT(p["bubble"]["measured"].get<double>(), 0.5) << phase;
  }
  // Synthetic batches: 4 rows of 28 input + 4 target tokens per step.
  const double tokens_per_step = 4 * (28 + 4);
  EXPECT_NEAR(j["frozen"]["tokens_per_s"].get<double>() * j["frozen"]["step_time_s"]["mean"].get<double>(),
              tokens_per_step, 1e-6 * tokens_per_step);
  // The largest matmul of t5-tiny at 4 × (4 + 28) encoder rows: the LM head [16, 64]·[64, 1152].
  EXPECT_EQ(j["gemm"]["m"].get<int64_t>(), 16);
  EXPECT_EQ(j["gemm"]["n"].get<int64_t>(), 1152);
  EXPECT_GT(j["frozen_over_full_step_time"].get<double>(), 0);
  EXPECT_GT(j["model_flop_rate_over_gemm_rate"].get<double>(), 0);
}

TEST_F(Cli, CudaWithoutACudaBuildFailsBeforeLoadingNamingTheReasonAndRank) {
  // Debian's LibTorch has no CUDA: model.device = "cuda" fails at start-up, before the model is
  // read (its directory does not even exist here), saying why and on which rank; auto is the CPU.
  auto r = run("train " + root_ + "/run.toml --set 'model.device=\"cuda\"' --set 'model.path=\"" + root_ +
               "/no-such-model\"'");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("model.device = \"cuda\" on rank 0: this LibTorch was built without CUDA"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("no-such-model"), std::string::npos) << r.output;
  // The bench reports the device and, on the CPU, no device memory; --peak-flops gives an MFU;
  // --decode times greedy decoding with and without the decoder's cache.
  auto b = run("bench " + root_ + "/run.toml --steps 1 --warmup 0 --synthetic --peak-flops 1e12 --decode 5 --out " +
               root_ + "/bench-mfu.json");
  ASSERT_EQ(b.code, 0) << b.output;
  std::ifstream in(root_ + "/bench-mfu.json");
  auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["device"], "cpu");
  EXPECT_FALSE(j["frozen"].contains("device_peak_allocated_mib_per_rank"));
  EXPECT_NEAR(j["frozen"]["mfu"].get<double>(), j["frozen"]["model_flops_per_s_per_rank"].get<double>() / 1e12, 1e-12);
  const auto& d = j["decode"];
  EXPECT_EQ(d["tokens_per_row"].get<int64_t>(), 5);
  EXPECT_EQ(d["rows_per_dp_rank"].get<int64_t>(), 4);
  EXPECT_EQ(d["input_length"].get<int64_t>(), 32);  // the prompt's 4 rows and 28 tokens
  EXPECT_TRUE(d["same_tokens"].get<bool>());
  for (const char* mode : {"cached", "recomputed"}) {
    const double t = d[mode]["batch_time_s"]["mean"].get<double>();
    EXPECT_GT(t, 0) << mode;
    EXPECT_NEAR(d[mode]["generated_tokens_per_s"].get<double>() * t, 4 * 5, 1e-9) << mode;
  }
  EXPECT_NEAR(d["cached_over_recomputed_tokens_per_s"].get<double>(),
              d["cached"]["generated_tokens_per_s"].get<double>() / d["recomputed"]["generated_tokens_per_s"].get<double>(),
              1e-12);
}

TEST_F(Cli, WrongLayoutFailsBeforeTraining) {
  auto r = run("train " + root_ + "/run.toml --set parallel.tp=2 --set run.dir=\\\"" + root_ + "/run-tp\\\"");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("needs tp·pp·dp = 2 ranks, but the job has 1"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(root_ + "/run-tp"));
}

TEST_F(Cli, ConfigKeysPrintsTheTableTheReaderUses) {
  auto md = run("config keys --markdown");
  ASSERT_EQ(md.code, 0) << md.output;
  EXPECT_NE(md.output.find(ptuner::train::config_keys_markdown()), std::string::npos) << md.output;
  auto plain = run("config keys");
  ASSERT_EQ(plain.code, 0) << plain.output;
  EXPECT_NE(plain.output.find("[train]\nsteps = 1000  # int; > 0: optimizer steps\n"), std::string::npos)
      << plain.output;
  EXPECT_NE(plain.output.find("dtype = \"float32\"  # string; one of `float32`, `bfloat16`: "), std::string::npos)
      << plain.output;
  auto help = run("--help");
  EXPECT_NE(help.output.find("config"), std::string::npos) << help.output;
  EXPECT_NE(run("config --help").output.find("keys"), std::string::npos);
}

}  // namespace
