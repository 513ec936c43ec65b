// What keeps a run from losing or corrupting work, on one rank: finite hyper-parameters, a
// non-finite step skipped and never saved, checkpoints that refuse NaN and fail their checksum
// when a byte flips, the run directory's lock and fresh-run guard, refused resumes, a stop
// signal that checkpoints and resumes bit for bit, early validation, and metrics file errors.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>
#include <zlib.h>

#include "dist/Check.h"
#include "tests/train/TinyTrainerRun.h"
#include "train/MetricsLog.h"
#include "train/RunGuard.h"
#include "train/Trainer.h"

namespace ptuner::train {
namespace {

namespace fs = std::filesystem;
using ptuner::testing::single_rank;
using ptuner::testing::tiny_trainer_config;
using ptuner::testing::tiny_trainer_env;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<nlohmann::json> losses(const std::string& run) {
  std::vector<nlohmann::json> out;
  std::ifstream in(tiny_trainer_env().root + "/" + run + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) out.push_back(j);
  }
  return out;
}

TEST(FiniteGuards, NonFiniteOrOutOfRangeHyperParametersAreRefused) {
  EXPECT_NE(error_of([] { tiny_trainer_config("x", {"optim.lr=inf"}); }).find("optim.lr must be a finite number"),
            std::string::npos);
  EXPECT_NE(error_of([] { tiny_trainer_config("x", {"optim.decay_rate=nan"}); })
                .find("optim.decay_rate must be a finite number"),
            std::string::npos);
  EXPECT_NE(error_of([] { tiny_trainer_config("x", {"optim.beta1=1.0"}); }).find("optim.beta1 must be in [0, 1)"),
            std::string::npos);
  EXPECT_NE(error_of([] { tiny_trainer_config("x", {"optim.weight_decay=-0.1"}); }).find("optim.weight_decay"),
            std::string::npos);
}

TEST(FiniteGuards, ANonFiniteGradientSkipsTheStepAndNeverReachesACheckpoint) {
  Trainer t(tiny_trainer_config("nan-step", {"train.steps=4", "train.log_every=1"}), single_rank());
  int calls = 0;
  t.set_gradient_hook([&](std::map<std::string, torch::Tensor>& grads) {
    if (++calls == 2) grads.at("embedding")[0][0] = std::numeric_limits<float>::quiet_NaN();
  });
  std::map<std::string, torch::Tensor> before;
  EXPECT_FALSE(t.step().skipped);
  before["embedding"] = t.prompt().named_parameters()["embedding"].detach().clone();
  EXPECT_TRUE(t.step().skipped);  // no update ...
  EXPECT_TRUE(torch::equal(t.prompt().named_parameters()["embedding"], before["embedding"]));
  EXPECT_EQ(t.current_step(), 2);  // ... but the step (and its data) is counted
  EXPECT_FALSE(t.step().skipped);
  EXPECT_EQ(t.nonfinite_steps(), 1);
  EXPECT_TRUE(torch::isfinite(t.snapshot().params.at("embedding")).all().item<bool>());
  // In a run: counted in metrics.jsonl.
  Trainer run(tiny_trainer_config("nan-run", {"train.steps=3", "train.log_every=1"}), single_rank());
  calls = 0;
  run.set_gradient_hook([&](std::map<std::string, torch::Tensor>& grads) {
    if (++calls == 2) grads.at("embedding").fill_(std::numeric_limits<float>::infinity());
  });
  EXPECT_TRUE(run.run(false, true));
  const auto log = losses("nan-run");
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0]["nonfinite_steps"], 0);
  EXPECT_EQ(log[1]["nonfinite_steps"], 1);
  EXPECT_TRUE(log[1]["loss"].is_null());  // no finite step in that log window
  const auto ck = Checkpoint::load(run.last_checkpoint_path());
  EXPECT_TRUE(torch::isfinite(ck.params.at("embedding")).all().item<bool>());
}

TEST(FiniteGuards, TooManyNonFiniteStepsInARowStopTheRun) {
  Trainer t(tiny_trainer_config("nan-stop", {"train.max_nonfinite_steps=3"}), single_rank());
  t.set_gradient_hook([](std::map<std::string, torch::Tensor>& g) { g.at("embedding").fill_(NAN); });
  EXPECT_TRUE(t.step().skipped);
  EXPECT_TRUE(t.step().skipped);
  EXPECT_NE(error_of([&] { t.step(); }).find("3 steps in a row (to step 3) had a non-finite loss or prompt gradient"),
            std::string::npos);
}

TEST(CheckpointIntegrity, NonFinitePromptsAreNeverWritten) {
  const std::string path = tiny_trainer_env().root + "/nan.h5";
  Checkpoint c;
  c.params = {{"embedding", torch::full({2, 3}, NAN)}};
  EXPECT_NE(error_of([&] { c.save(path); }).find("prompt parameter 'embedding' holds non-finite values"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST(CheckpointIntegrity, AFlippedByteInThePromptIsCaughtOnLoad) {
  Trainer t(tiny_trainer_config("flip"), single_rank());
  t.step();
  const std::string path = tiny_trainer_env().root + "/flip.h5";
  auto ck = t.snapshot();
  ck.save(path);
  // Find the embedding's bytes in the file and flip one bit in the middle of them.
  const auto emb = ck.params.at("embedding").contiguous();
  const std::string needle(static_cast<const char*>(emb.data_ptr()), 64);
  auto bytes = bytes_of(path);
  const auto at = bytes.find(needle);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 33] ^= 0x10;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  EXPECT_NE(error_of([&] { Checkpoint::load(path); }).find("checkpoint " + path + " is damaged: its CRC-32 is"),
            std::string::npos)
      << error_of([&] { Checkpoint::load(path); });
  // Behind the seal, HDF5's Fletcher-32 on the array: the same flip with a seal rewritten to match
  // (as a tool that rewrote the file would leave it) still fails the load.
  std::string seal = fmt::format("ptuner-checkpoint 2\nbytes {}\ncrc32 {:08x}\n", bytes.size() - 512,
                                 crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes.data()) + 512,
                                       static_cast<uInt>(bytes.size() - 512)));
  seal.resize(512, '\0');
  bytes.replace(0, 512, seal);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  EXPECT_NE(error_of([&] { Checkpoint::load(path); }).find("a corrupt file fails its checksum"), std::string::npos)
      << error_of([&] { Checkpoint::load(path); });
}

TEST(CheckpointIntegrity, TheSealRefusesACutOrExtendedFileBeforeHdf5ReadsIt) {
  Trainer t(tiny_trainer_config("seal"), single_rank());
  t.step();
  const std::string path = tiny_trainer_env().root + "/seal.h5";
  const auto ck = t.snapshot();
  ck.save(path);
  const std::string good = bytes_of(path);
  // The seal is text a person can read with `head -c 512`.
  const std::string seal_start = "ptuner-checkpoint 2\nbytes " + std::to_string(good.size() - 512) + "\ncrc32 ";
  ASSERT_EQ(good.compare(0, seal_start.size(), seal_start), 0) << good.substr(0, 60);
  EXPECT_EQ(Checkpoint::load(path).step, 1);
  // Cut short (a copy that stopped), at the seal and inside HDF5's metadata.
  for (const size_t keep : {good.size() - 1, good.size() / 2, size_t{600}}) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << good.substr(0, keep);
    EXPECT_NE(error_of([&] { Checkpoint::load(path); })
                  .find(fmt::format("checkpoint {} is damaged: it holds {} bytes after its seal, the seal says {}",
                                    path, keep - 512, good.size() - 512)),
              std::string::npos)
        << error_of([&] { Checkpoint::load(path); });
  }
  // Added to.
  std::ofstream(path, std::ios::binary | std::ios::trunc) << good << "x";
  EXPECT_NE(error_of([&] { Checkpoint::load(path); }).find("is damaged: it holds"), std::string::npos);
  // A byte of HDF5's own metadata (not an array): before the seal, HDF5 1.10 followed such bytes.
  std::string flipped = good;
  flipped[600] ^= 0x40;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << flipped;
  EXPECT_NE(error_of([&] { Checkpoint::load(path); }).find("is damaged: its CRC-32 is"), std::string::npos);
  // The seal itself damaged, a format-1 file (HDF5's signature first, no seal), and not a checkpoint.
  flipped = good;
  flipped[27] = 'x';
  std::ofstream(path, std::ios::binary | std::ios::trunc) << flipped;
  EXPECT_NE(error_of([&] { Checkpoint::load(path); }).find("is damaged: its seal cannot be read"), std::string::npos)
      << error_of([&] { Checkpoint::load(path); });
  std::ofstream(path, std::ios::binary | std::ios::trunc) << good.substr(512);
  EXPECT_NE(error_of([&] { Checkpoint::load(path); })
                .find("was written by an older ptuner (format 1, without a seal); this ptuner reads format 2"),
            std::string::npos)
      << error_of([&] { Checkpoint::load(path); });
  std::ofstream(path, std::ios::binary | std::ios::trunc) << "step = 3\n";
  EXPECT_NE(error_of([&] { Checkpoint::load(path); }).find("is not a ptuner checkpoint"), std::string::npos);
}

TEST(RunDirectory, ASecondRunOnTheDirectoryIsRefusedNamingTheHolder) {
  const std::string dir = tiny_trainer_env().root + "/locked";
  fs::create_directories(dir);
  RunDirLock first(dir);
  const auto err = error_of([&] { RunDirLock second(dir); });
  EXPECT_NE(err.find("run.dir " + dir + " is in use by pid " + std::to_string(::getpid())), std::string::npos) << err;
  // A trainer on it too.
  Trainer t(tiny_trainer_config("locked", {"train.steps=1"}), single_rank());
  EXPECT_NE(error_of([&] { t.run(false); }).find("is in use by pid"), std::string::npos);
}

TEST(RunDirectory, AFreshRunLeavesAnEarlierRunsFilesAloneUnlessTold) {
  Trainer t(tiny_trainer_config("earlier", {"train.steps=2", "train.eval_every=1"}), single_rank());
  t.run(false);
  const std::string dir = tiny_trainer_env().root + "/earlier";
  fs::remove(dir + "/checkpoint-last.h5");  // as after a kill before the first save: only best
  const auto best = bytes_of(dir + "/checkpoint-best.h5");
  Trainer again(tiny_trainer_config("earlier", {"train.steps=2"}), single_rank());
  const auto err = error_of([&] { again.run(false); });
  EXPECT_NE(err.find("already holds checkpoint-best.h5, metrics.jsonl"), std::string::npos) << err;
  EXPECT_EQ(bytes_of(dir + "/checkpoint-best.h5"), best);  // untouched
  EXPECT_NE(error_of([&] { again.run(true); }).find("but " + dir + "/checkpoint-best.h5 does"), std::string::npos);
  EXPECT_TRUE(again.run(false, /*overwrite=*/true));
  EXPECT_FALSE(fs::exists(dir + "/checkpoint-best.h5"));  // this run has no evaluation
}

TEST(Resume, AChangedBatchSizeIsRefusedNamingTheKey) {
  Trainer t(tiny_trainer_config("changed", {"train.steps=2"}), single_rank());
  t.run(false);
  Trainer bigger(tiny_trainer_config("changed", {"train.steps=4", "train.batch_size=16"}), single_rank());
  const auto err = error_of([&] { bigger.run(true); });
  EXPECT_NE(err.find("train.batch_size: 8 -> 16"), std::string::npos) << err;
  EXPECT_EQ(err.find("train.steps"), std::string::npos) << err;  // allowed
  Trainer longer(tiny_trainer_config("changed", {"train.steps=4", "optim.lr=0.2"}), single_rank());
  EXPECT_TRUE(longer.run(true));
}

TEST(Resume, TheCheckpointIsCheckedWithoutTheModel) {
  Trainer t(tiny_trainer_config("precheck", {"train.steps=2"}), single_rank());
  t.run(false);
  EXPECT_NO_THROW(check_resumable(tiny_trainer_config("precheck", {"train.steps=4"})));
  EXPECT_NE(error_of([] { check_resumable(tiny_trainer_config("precheck", {"train.batch_size=16"})); })
                .find("train.batch_size: 8 -> 16"),
            std::string::npos);
  EXPECT_NE(error_of([] { check_resumable(tiny_trainer_config("precheck", {"prompt.length=7"})); })
                .find("prompt.length"),
            std::string::npos);
  const auto& e = tiny_trainer_env();
  EXPECT_NE(error_of([&] {
              check_resumable(tiny_trainer_config("precheck", {"model.path=\"" + e.other_model + "\""}));
            }).find("was trained on a different frozen model"),
            std::string::npos);
  EXPECT_NE(error_of([] { check_resumable(tiny_trainer_config("precheck-none")); }).find("nothing to resume"),
            std::string::npos);
}

TEST(StopSignal, StopsAtAStepWithACheckpointAndResumesBitForBit) {
  Trainer straight(tiny_trainer_config("sig-straight", {"train.steps=4"}), single_rank());
  straight.run(false);
  Trainer first(tiny_trainer_config("sig-stopped", {"train.steps=4"}), single_rank());
  stop_signal::raise_for_test(SIGTERM);
  EXPECT_FALSE(first.run(false));  // stopped after its first step
  stop_signal::clear();
  EXPECT_EQ(Checkpoint::load(first.last_checkpoint_path()).step, 1);
  Trainer resumed(tiny_trainer_config("sig-stopped", {"train.steps=4"}), single_rank());
  EXPECT_TRUE(resumed.run(true));
  const auto a = losses("sig-straight"), b = losses("sig-stopped");
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(a[i]["last_loss"].get<double>(), b[i]["last_loss"].get<double>()) << i;
  EXPECT_TRUE(torch::equal(Checkpoint::load(first.last_checkpoint_path()).params.at("embedding"),
                           Checkpoint::load(straight.last_checkpoint_path()).params.at("embedding")));
}

TEST(EarlyValidation, EvaluationNeedsAreCheckedBeforeTheFirstStep) {
  EXPECT_NE(error_of([] { Trainer t(tiny_trainer_config("v", {"train.eval_every=2", "data.dev=\"\""}), single_rank()); })
                .find("train.eval_every = 2 needs data.dev"),
            std::string::npos);
  EXPECT_NE(
      error_of([] { Trainer t(tiny_trainer_config("v", {"train.eval_every=2", "train.best_metric=acuracy"}), single_rank()); })
          .find("train.best_metric 'acuracy' is not a metric of task 'jsonl'"),
      std::string::npos);
}

// A dev set's unlabeled rows (a test split's) are not scored: before, they were dropped from the metric without a
// word, and a test split given as data.dev evaluated "accuracy 0 over 0 examples" and chose a best checkpoint on it.
TEST(EarlyValidation, ADevSetWithoutLabelsIsRefusedAndUnlabeledRowsAreCounted) {
  const std::string dir = tiny_trainer_env().root + "/rte";
  fs::create_directories(dir);
  auto rte_row = [](int i, const char* label) {
    nlohmann::json j = {{"premise", "The cat sat on the mat number " + std::to_string(i) + "."},
                        {"hypothesis", i % 2 ? "A cat sat." : "A dog ran."},
                        {"idx", i}};
    if (label != nullptr) j["label"] = label;
    return j.dump() + "\n";
  };
  {
    std::ofstream train(dir + "/train.jsonl"), test(dir + "/test.jsonl"), dev(dir + "/dev.jsonl");
    for (int i = 0; i < 16; ++i) train << rte_row(i, i % 2 ? "entailment" : "not_entailment");
    for (int i = 0; i < 4; ++i) test << rte_row(i, nullptr);
    for (int i = 0; i < 4; ++i) dev << rte_row(i, i == 2 ? nullptr : (i % 2 ? "entailment" : "not_entailment"));
  }
  auto config = [&](const std::string& dev, const std::string& on_error) {
    return tiny_trainer_config("rte-" + on_error, {"data.task=\"rte\"", "data.train=\"" + dir + "/train.jsonl\"",
                                                   "data.dev=\"" + dir + "/" + dev + "\"", "train.eval_every=2",
                                                   "train.steps=2", "data.on_error=\"" + on_error + "\""});
  };
  // The RTE test split as data.dev: refused before step 1, under either policy.
  for (const std::string policy : {"fail", "skip"})
    EXPECT_NE(error_of([&] { Trainer t(config("test.jsonl", policy), single_rank()); })
                  .find("dev file " + dir + "/test.jsonl has no labeled example: none of its 4 examples has a label "
                        "or answers (a test split?)"),
              std::string::npos)
        << error_of([&] { Trainer t(config("test.jsonl", policy), single_rank()); });
  // One unlabeled row: refused under "fail", counted and left out under "skip".
  EXPECT_NE(error_of([&] { Trainer t(config("dev.jsonl", "fail"), single_rank()); })
                .find("dev file " + dir + "/dev.jsonl: 1 of its 4 examples have no label or answers and would not be "
                      "scored (data.on_error = \"fail\""),
            std::string::npos);
  Trainer t(config("dev.jsonl", "skip"), single_rank());
  t.run(false);
  std::ifstream in(tiny_trainer_env().root + "/rte-skip/metrics.jsonl");
  double scored = -1;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("eval_examples")) scored = j["eval_examples"].get<double>();
  }
  EXPECT_EQ(scored, 3);
}

TEST(MetricsFile, AFailedAppendIsAnErrorNamingTheFileAndReason) {
  const std::string path = tiny_trainer_env().root + "/full-metrics.jsonl";
  fs::create_symlink("/dev/full", path);  // every write: ENOSPC
  MetricsLog log(path, -1);
  const auto err = error_of([&] { log.write({{"step", 1}}); });
  EXPECT_NE(err.find("cannot append to metrics file " + path + ": No space left on device"), std::string::npos)
      << err;
}

TEST(MetricsFile, ABadLineIsNamedByFileAndLine) {
  const std::string path = tiny_trainer_env().root + "/bad-metrics.jsonl";
  std::ofstream(path) << "{\"step\": 1, \"loss\": 2.0}\n{\"step\": \"two\"}\n{\"step\": 3}\n";
  EXPECT_NE(error_of([&] { MetricsLog log(path, 5); }).find(path + ":2: not a metrics record"), std::string::npos);
  // A last line a crash cut short is dropped (the resumed run logs its step again).
  std::ofstream(path, std::ios::trunc) << "{\"step\": 1, \"loss\": 2.0}\n{\"step\": 2, \"lo";
  { MetricsLog log(path, 5); }
  EXPECT_EQ(ptuner::testing::read_file(path), "{\"step\": 1, \"loss\": 2.0}\n");
}

}  // namespace
}  // namespace ptuner::train
