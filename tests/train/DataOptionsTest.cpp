#include <gtest/gtest.h>

#include "train/DataOptions.h"

namespace ptuner::train {
namespace {

TEST(DataOptions, TrainingLoaderTakesEachRanksShareOfAStep) {
  const auto c = RunConfig::from_string(R"(
[model]
preset = "t5-tiny"
[data]
train = "t.jsonl"
task = "boolq"
task_prefix = true
bucket_by_length = false
max_input_length = 64
max_target_length = 6
on_error = "skip"
shuffle_buffer = 50
prefetch = 2
tokenizer_threads = 3
[train]
batch_size = 16
grad_accum = 2
seed = 9
[prompt]
length = 20
[parallel]
dp = 2
micro_batches = 2
)",
                                        "cfg.toml");
  const auto lo = training_loader_options(c, 1, 2);
  EXPECT_EQ(lo.path, "t.jsonl");
  EXPECT_EQ(lo.task, "boolq");
  EXPECT_TRUE(lo.task_prefix);
  EXPECT_FALSE(lo.bucket_by_length);
  EXPECT_EQ(lo.batch_size, 8);      // 16 / dp; the trainer splits it into grad_accum × micro_batches
  EXPECT_EQ(lo.max_input_len, 44);  // 64 − the 20 prompt tokens
  EXPECT_EQ(lo.max_target_len, 6);
  EXPECT_EQ(lo.seed, 9u);
  EXPECT_EQ(lo.shuffle_buffer, 50);
  EXPECT_EQ(lo.batches_per_step, 1);
  EXPECT_EQ(lo.dp_rank, 1);
  EXPECT_EQ(lo.dp_size, 2);
  EXPECT_EQ(lo.on_error, data::OnError::Skip);
  EXPECT_EQ(lo.prefetch, 2);
  EXPECT_EQ(lo.tokenizer_threads, 3);
  EXPECT_TRUE(lo.mixture.empty());
}

TEST(DataOptions, TrainingLoaderCarriesTheMixture) {
  const auto c = RunConfig::from_string(R"(
[model]
preset = "t5-tiny"
[data]
mixing = "temperature"
mixing_cap = 1000
mixing_temperature = 3.0
[[data.mixture]]
task = "boolq"
train = "b.jsonl"
rate = 2.0
[[data.mixture]]
task = "rte"
train = "r.jsonl"
rate = 1.0
[train]
batch_size = 4
)",
                                        "cfg.toml");
  const auto lo = training_loader_options(c, 0, 1);
  ASSERT_EQ(lo.mixture.size(), 2u);
  EXPECT_EQ(lo.mixture[1].task, "rte");
  EXPECT_EQ(lo.mixture[1].path, "r.jsonl");
  EXPECT_DOUBLE_EQ(lo.mixture[0].rate, 2.0);
  EXPECT_EQ(lo.mixing, "temperature");
  EXPECT_EQ(lo.mixing_cap, 1000);
  EXPECT_DOUBLE_EQ(lo.mixing_temperature, 3.0);
  EXPECT_EQ(lo.on_error, data::OnError::Fail);
  EXPECT_EQ(lo.batch_size, 4);
}

}  // namespace
}  // namespace ptuner::train
