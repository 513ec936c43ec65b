// The `ptuner` executable as a user runs it: init-model, tokenize, train and eval, and the
// errors a typo or a wrong layout gives.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/TestSupport.h"
#include "train/ConfigKeys.h"

namespace {

struct Result {
  int code;
  std::string output;
};

Result run(const std::string& args) {
  std::string cmd = std::string(PTUNER_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  int status = pclose(pipe);
  return {WEXITSTATUS(status), out};
}

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
    EXPECT_EQ(p["peak_rss_mib_per_rank"].size(), 1u) << phase;
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
