#include <gtest/gtest.h>
#include <filesystem>
#include <fstream>

#include "tests/TestSupport.h"
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
  c.rng_state = torch::randint(0, 255, {5056}, torch::kUInt8);
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
  EXPECT_TRUE(torch::equal(r.rng_state, c.rng_state));
  EXPECT_EQ(r.config_toml, c.config_toml);
  EXPECT_EQ(r.model_fingerprint, "0123456789abcdef");
  EXPECT_DOUBLE_EQ(r.best_metric, 0.75);
  EXPECT_EQ(r.best_step, 40);
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
