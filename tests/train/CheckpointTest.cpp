#include <gtest/gtest.h>
#include <filesystem>
#include <fstream>

#include "tests/TestSupport.h"
#include "data/DataLoader.h"
#include "train/Checkpoint.h"

namespace ptuner::train {
namespace {

Checkpoint sample() {
  Checkpoint c;
  c.step = 42;
  c.method = "prompt-tuning";
  c.params["embedding"] = torch::randn({5, 8});
  c.optimizer_name = "adafactor";
  c.optimizer["embedding/v"] = torch::rand({5, 8});
  c.optimizer["step"] = torch::tensor(42L);
  c.data_position = {3, 17};
  c.rng_cpu = torch::randint(0, 255, {2, 5056}, torch::kUInt8);
  c.rng_layout = "tp=1 pp=1 dp=2";
  c.config_toml = "[train]\nsteps = 100\n";
  c.model_fingerprint = "0123456789abcdef";
  c.best_metric = 0.75;
  c.best_step = 40;
  return c;
}

TEST(Checkpoint, RoundTripKeepsEveryField) {
  const auto path = ptuner::testing::temp_dir("ckpt") + "/c.h5";
  auto c = sample();
  c.save(path);
  auto r = Checkpoint::load(path);
  EXPECT_EQ(r.step, 42);
  EXPECT_EQ(r.method, "prompt-tuning");
  EXPECT_TRUE(torch::equal(r.params.at("embedding"), c.params.at("embedding")));
  EXPECT_EQ(r.optimizer_name, "adafactor");
  EXPECT_TRUE(torch::equal(r.optimizer.at("embedding/v"), c.optimizer.at("embedding/v")));
  EXPECT_EQ(r.optimizer.at("step").item<int64_t>(), 42);
  EXPECT_EQ(r.data_position.epoch, 3);
  EXPECT_EQ(r.data_position.batches_in_epoch, 17);
  EXPECT_TRUE(torch::equal(r.rng_cpu, c.rng_cpu));
  EXPECT_EQ(r.rng_layout, "tp=1 pp=1 dp=2");
  EXPECT_FALSE(r.rng_device.defined());
  EXPECT_EQ(r.config_toml, c.config_toml);
  EXPECT_EQ(r.model_fingerprint, "0123456789abcdef");
  EXPECT_DOUBLE_EQ(r.best_metric, 0.75);
  EXPECT_EQ(r.best_step, 40);
}

TEST(Checkpoint, MixturePositionRoundTrips) {
  const auto dir = ptuner::testing::temp_dir("ckpt-mixture");
  auto c = sample();
  c.data_position = data::LoaderPosition(0, 250);
  c.data_position.mixture_draws = 3968;
  c.data_position.sources = {{7, 12}, {1, 0}, {0, 2301}};
  c.save(dir + "/m.h5");
  EXPECT_EQ(Checkpoint::load(dir + "/m.h5").data_position, c.data_position);
  // A one-task checkpoint (as every checkpoint before mixtures) has no mixture part.
  sample().save(dir + "/one.h5");
  const auto one = Checkpoint::load(dir + "/one.h5").data_position;
  EXPECT_TRUE(one.sources.empty());
  EXPECT_EQ(one.mixture_draws, 0);
  EXPECT_EQ(one, data::LoaderPosition(3, 17));
}

TEST(Checkpoint, MixtureLoaderResumesFromASavedPosition) {
  const auto dir = ptuner::testing::temp_dir("ckpt-mixture-resume");
  ptuner::testing::write_tiny_model(dir, 1);
  ptuner::testing::write_sentiment_jsonl(dir + "/a.jsonl", 30, 1);
  ptuner::testing::write_sentiment_jsonl(dir + "/b.jsonl", 300, 2);
  const data::Tokenizer tok(dir + "/spiece.model");
  data::LoaderOptions o;
  o.mixture = {{"jsonl", dir + "/a.jsonl", 0}, {"jsonl", dir + "/b.jsonl", 0}};
  o.batch_size = 4;
  o.max_input_len = 32;
  o.max_target_len = 4;
  o.shuffle_buffer = 20;
  o.bucket_by_length = true;
  data::DataLoader straight(o, tok);
  for (int i = 0; i < 13; ++i) straight.next();
  auto c = sample();
  c.data_position = straight.position();
  c.save(dir + "/c.h5");
  data::DataLoader resumed(o, tok);
  resumed.seek(Checkpoint::load(dir + "/c.h5").data_position);
  for (int i = 0; i < 8; ++i) {
    const auto a = straight.next(), b = resumed.next();
    EXPECT_EQ(a.indices, b.indices) << "batch " << i;
    EXPECT_EQ(a.sources, b.sources) << "batch " << i;
    EXPECT_TRUE(torch::equal(a.input_ids, b.input_ids)) << "batch " << i;
  }
}

TEST(Checkpoint, WritesAtomicallyLeavingNoTemporary) {
  const auto dir = ptuner::testing::temp_dir("ckpt-atomic");
  sample().save(dir + "/c.h5");
  EXPECT_TRUE(std::filesystem::exists(dir + "/c.h5"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/c.h5.tmp"));
}

TEST(Checkpoint, RefusesAnotherModelNamingBothFingerprints) {
  auto c = sample();
  try {
    c.check_model("fedcba9876543210", "run/c.h5");
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("run/c.h5"), std::string::npos) << msg;
    EXPECT_NE(msg.find("0123456789abcdef"), std::string::npos) << msg;
    EXPECT_NE(msg.find("fedcba9876543210"), std::string::npos) << msg;
  }
  EXPECT_NO_THROW(c.check_model("0123456789abcdef", "run/c.h5"));
}

TEST(Checkpoint, NonCheckpointFileIsNamed) {
  const auto path = ptuner::testing::temp_dir("ckpt-bad") + "/x.h5";
  std::ofstream(path) << "not hdf5";
  try {
    Checkpoint::load(path);
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ptuner::train
