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

const char* kMixture = R"(
[model]
preset = "t5-tiny"
tokenizer = "x/spiece.model"
[data]
task = "boolq"
dev = "boolq/val.jsonl"
mixing = "temperature"
mixing_temperature = 2.0
[[data.mixture]]
task = "boolq"
train = "boolq/train.jsonl"
[[data.mixture]]
task = "rte"
train = "rte/train.jsonl"
[train]
batch_size = 8
)";

TEST(RunConfig, ReadsAMixture) {
  auto c = RunConfig::from_string(kMixture, "cfg.toml");
  ASSERT_EQ(c.data.mixture.size(), 2u);
  EXPECT_EQ(c.data.mixture[0].task, "boolq");
  EXPECT_EQ(c.data.mixture[1].train, "rte/train.jsonl");
  EXPECT_EQ(c.data.mixture[1].rate, 0);
  EXPECT_EQ(c.data.mixing, "temperature");
  EXPECT_DOUBLE_EQ(c.data.mixing_temperature, 2.0);
  EXPECT_EQ(c.data.mixing_cap, 524288);  // 2^19
  EXPECT_TRUE(c.data.train.empty());
  // Defaults of one-task configs.
  auto one = RunConfig::from_string(kMinimal, "cfg.toml");
  EXPECT_TRUE(one.data.mixture.empty());
  EXPECT_EQ(one.data.mixing, "proportional");
  EXPECT_EQ(one.data.prefetch, 4);
  EXPECT_EQ(one.data.tokenizer_threads, 1);
  // Explicit rates, for every entry.
  std::string rated = kMixture;
  rated.replace(rated.find("train = \"boolq/train.jsonl\""), 0, "rate = 3\n");
  rated.replace(rated.find("train = \"rte/train.jsonl\""), 0, "rate = 1.5\n");
  c = RunConfig::from_string(rated, "cfg.toml");
  EXPECT_DOUBLE_EQ(c.data.mixture[0].rate, 3.0);
  EXPECT_DOUBLE_EQ(c.data.mixture[1].rate, 1.5);
}

TEST(RunConfig, MixtureErrorsNameTheKeyAndFile) {
  auto err = [](const std::string& text, const std::vector<std::string>& o = {}) { return error_of(text, o); };
  std::string typo = kMixture;
  typo.replace(typo.find("train = \"rte/train.jsonl\""), 0, "weight = 2\n");
  EXPECT_NE(err(typo).find("cfg.toml: unknown key 'data.mixture[1].weight' (known keys of [[data.mixture]]: rate, "
                           "task, train)"),
            std::string::npos)
      << err(typo);
  EXPECT_NE(err(kMinimal, {"data.mixture=[]"}).find("cfg.toml: data.mixture is empty"), std::string::npos);
  EXPECT_NE(err(kMinimal, {"data.mixture=[{task=\"boolq\", train=\"b.jsonl\"}]"})
                .find("set data.train (one task) or [[data.mixture]] (several), not both"),
            std::string::npos);
  EXPECT_NE(err(kMixture, {"data.mixture=[{task=\"boolk\", train=\"b.jsonl\"}]"})
                .find("cfg.toml: data.mixture[0].task: unknown task 'boolk' (known: boolq"),
            std::string::npos);
  EXPECT_NE(err(kMixture, {"data.mixture=[{task=\"boolq\"}]"}).find("data.mixture[0].train must be set"),
            std::string::npos);
  EXPECT_NE(err(kMixture, {"data.mixture=[{task=\"boolq\", train=\"a\", rate=1}, {task=\"rte\", train=\"b\"}]"})
                .find("gives a rate for 1 of 2 entries"),
            std::string::npos);
  EXPECT_NE(err(kMixture, {"data.mixture=[{task=\"boolq\", train=\"a\", rate=0}]"})
                .find("data.mixture[0].rate must be a number > 0"),
            std::string::npos);
  EXPECT_NE(err(kMixture, {"data.mixture=\"boolq\""}).find("data.mixture must be an array of tables"),
            std::string::npos);
  EXPECT_NE(err(kMixture, {"data.mixing=uniform"}).find("data.mixing 'uniform' is not one of: proportional, temperature"),
            std::string::npos);
  EXPECT_NE(err(kMixture, {"data.mixing=proportional"})
                .find("data.mixing_temperature 2 applies to data.mixing = \"temperature\" only"),
            std::string::npos);
  EXPECT_NE(err(kMixture, {"data.mixing_cap=0"}).find("data.mixing_cap must be >= 1, got 0"), std::string::npos);
  EXPECT_NE(err(kMinimal, {"data.prefetch=-1"}).find("data.prefetch must be >= 0, got -1"), std::string::npos);
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
