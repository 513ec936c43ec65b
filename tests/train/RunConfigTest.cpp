#include <gtest/gtest.h>

#include "train/LrSchedule.h"
#include "train/RunConfig.h"

namespace ptuner::train {
namespace {

const char* kMinimal = R"(
[model]
preset = "t5-tiny"
tokenizer = "x/spiece.model"
[data]
train = "train.jsonl"
[train]
batch_size = 8
)";

std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    RunConfig::from_string(text, "cfg.toml", overrides);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(RunConfig, ReadsValuesAndDefaults) {
  auto c = RunConfig::from_string(kMinimal, "cfg.toml");
  EXPECT_EQ(c.model.preset, "t5-tiny");
  EXPECT_EQ(c.train.batch_size, 8);
  EXPECT_EQ(c.optim.name, "adafactor");
  EXPECT_DOUBLE_EQ(c.optim.lr, 0.3);
  EXPECT_EQ(c.parallel.world(), 1);
  EXPECT_EQ(c.micro_batch_size(), 8);
}

TEST(RunConfig, UnknownKeysAndSectionsAreErrorsNamingThem) {
  EXPECT_NE(error_of(std::string(kMinimal) + "[optim]\nlearning_rate = 0.1\n").find("unknown key 'optim.learning_rate'"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "[optimizer]\nlr = 0.1\n").find("unknown section [optimizer]"),
            std::string::npos);
}

TEST(RunConfig, OverridesApplyAndAreValidated) {
  auto c = RunConfig::from_string(kMinimal, "cfg.toml",
                                  {"train.steps=7", "optim.name=adamw", "parallel.dp=2", "run.dir=\"a b\""});
  EXPECT_EQ(c.train.steps, 7);
  EXPECT_EQ(c.optim.name, "adamw");
  EXPECT_EQ(c.parallel.dp, 2);
  EXPECT_EQ(c.micro_batch_size(), 4);
  EXPECT_EQ(c.run.dir, "a b");
  EXPECT_LT(c.model.dropout_rate, 0);  // keep config.json's unless set
  EXPECT_DOUBLE_EQ(RunConfig::from_string(kMinimal, "cfg.toml", {"model.dropout_rate=0.0"}).model.dropout_rate, 0.0);
  EXPECT_NE(error_of(kMinimal, {"train.stepz=7"}).find("unknown key 'train.stepz'"), std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"steps=7"}).find("section.key"), std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"train.steps=abc"}).find("train.steps must be an integer"), std::string::npos);
}

TEST(RunConfig, BadValuesNameTheKeyAndValue) {
  EXPECT_NE(error_of(kMinimal, {"optim.name=sgd"}).find("optim.name 'sgd'"), std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"parallel.tp=0"}).find("parallel.tp must be positive, got 0"), std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"parallel.dp=3"}).find("train.batch_size 8 is not divisible by parallel.dp 3"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"model.path=\"m\""}).find("exactly one of model.path and model.preset"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"prompt.init=class-labels"}).find("needs prompt.class_labels"), std::string::npos);
  EXPECT_NE(error_of("[model\n").find("cfg.toml:1"), std::string::npos);
}

TEST(LrSchedule, ShapesByHand) {
  EXPECT_DOUBLE_EQ(LrSchedule("constant", 0.3, 0, 100).at(57), 0.3);
  LrSchedule warm("warmup-constant", 1.0, 4, 100);
  EXPECT_DOUBLE_EQ(warm.at(0), 0.25);
  EXPECT_DOUBLE_EQ(warm.at(3), 1.0);
  EXPECT_DOUBLE_EQ(warm.at(50), 1.0);
  LrSchedule lin("warmup-linear", 1.0, 10, 110);
  EXPECT_DOUBLE_EQ(lin.at(4), 0.5);
  EXPECT_DOUBLE_EQ(lin.at(60), 0.5);  // (110 − 60)/(110 − 10)
  LrSchedule rsqrt("warmup-rsqrt", 1.0, 100, 1000);
  EXPECT_DOUBLE_EQ(rsqrt.at(399), 0.5);  // √(100/400)
}

}  // namespace
}  // namespace ptuner::train
