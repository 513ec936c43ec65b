#include <gtest/gtest.h>

#include "dist/Check.h"
#include "model_parallel/StageSplit.h"

namespace ptuner::mp {
namespace {

std::vector<int64_t> counts(const std::vector<StageSpec>& stages) {
  std::vector<int64_t> out;
  for (const auto& s : stages) out.push_back((s.encoder_end - s.encoder_begin) + (s.decoder_end - s.decoder_begin));
  return out;
}

TEST(StageSplit, CostsByHand) {
  // t5-tiny: d 64, inner 64, gated d_ff 128 (3 matrices), vocab 1152; S = 10, T = 2; the LM head
  // adds the cross-entropy's σ per logit.
  auto k = StageCosts::of(T5Config::preset("t5-tiny"), 10, 2);
  EXPECT_DOUBLE_EQ(k.encoder_block, 10.0 * (4 * 64 * 64 + 64 * 384));
  EXPECT_DOUBLE_EQ(k.decoder_block, 2.0 * (6 * 64 * 64 + 64 * 384) + 10.0 * 2 * 64 * 64);
  EXPECT_DOUBLE_EQ(k.lm_head, 2.0 * 64 * 1152 + 2.0 * 1152 * kSoftmaxCost);
}

TEST(StageSplit, SmallMicroBatchesChargeEachWeightOncePerMicroBatch) {
  // Micro-batch of 4: κ/4 = 8 multiply-adds per weight and sequence on top of the FLOPs.
  // Weights: encoder block 4·64·64 + 64·384, decoder block 8·64·64 + 64·384, LM head 64·1152.
  auto k = StageCosts::of(T5Config::preset("t5-tiny"), 10, 2, 4);
  const double w = kWeightPassCost / 4;
  EXPECT_DOUBLE_EQ(k.encoder_block, (10.0 + w) * (4 * 64 * 64 + 64 * 384));
  EXPECT_DOUBLE_EQ(k.decoder_block, 2.0 * (6 * 64 * 64 + 64 * 384) + 10.0 * 2 * 64 * 64 + w * (8 * 64 * 64 + 64 * 384));
  EXPECT_DOUBLE_EQ(k.lm_head, (2.0 + w) * 64 * 1152 + 2.0 * 1152 * kSoftmaxCost);
  // The decoder and the head gain relative to the encoder as micro-batches shrink.
  auto big = StageCosts::of(T5Config::preset("t5-tiny"), 10, 2, 64);
  EXPECT_GT(k.decoder_block / k.encoder_block, big.decoder_block / big.encoder_block);
}

TEST(StageSplit, BalancesByCostNotByCount) {
  auto c = T5Config::preset("t5.1.1-xxl");  // 24 + 24 blocks
  StageCosts k;
  k.encoder_block = 1.0, k.decoder_block = 2.0, k.lm_head = 0.0;
  // Total 24 + 48 = 72, 4 stages of 18: 18 encoder, 6 enc + 6 dec, then 9 and 9 decoder blocks.
  EXPECT_EQ(counts(split_stages(c, 4, k)), (std::vector<int64_t>{18, 12, 9, 9}));
  // With the LM head (4) on the last stage the total is 76, but 19 a stage is infeasible: the
  // last two stages hold at most 7 + 9 decoder blocks, leaving 24 + 2·8 = 40 for two stages.
  // The optimum is 20 (e.g. 19 | 5 enc + 6 dec | 10 dec | 8 dec + head).
  k.lm_head = 4.0;
  double worst = 0;
  for (const auto& s : split_stages(c, 4, k)) worst = std::max(worst, stage_cost(s, k));
  EXPECT_DOUBLE_EQ(worst, 20.0);
}

TEST(StageSplit, StagesAreContiguousAndCoverEveryBlock) {
  auto c = T5Config::preset("t5-tiny");  // 2 + 2
  auto stages = split_stages(c, 3, StageCosts::of(c, 64, 8));
  ASSERT_EQ(stages.size(), 3u);
  EXPECT_TRUE(stages[0].first && !stages[0].last && stages[2].last && !stages[2].first);
  int64_t next = 0;
  for (const auto& s : stages) {
    const int64_t begin = s.has_encoder() ? s.encoder_begin : c.num_layers + s.decoder_begin;
    EXPECT_EQ(begin, next);
    next = s.has_decoder() ? c.num_layers + s.decoder_end : s.encoder_end;
  }
  EXPECT_EQ(next, 4);
}

TEST(StageSplit, UserSplitAndBadLayoutsAreNamed) {
  auto c = T5Config::preset("t5-tiny");
  auto k = StageCosts::of(c, 64, 8);
  auto s = split_stages(c, 2, k, {3, 1});
  EXPECT_EQ(s[0].encoder_end, 2);
  EXPECT_EQ(s[0].decoder_end, 1);
  EXPECT_EQ(s[1].decoder_begin, 1);
  auto message = [&](int pp, std::vector<int64_t> blocks) {
    try {
      split_stages(c, pp, k, blocks);
    } catch (const ptuner::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(message(5, {}), "parallel.pp = 5 stages but the model has only 4 blocks (2 encoder + 2 decoder)");
  EXPECT_EQ(message(2, {3, 2}), "parallel.stage_blocks sums to 5, the model has 4 blocks");
  EXPECT_EQ(message(2, {4, 0}), "parallel.stage_blocks: every stage needs at least one block, got 0");
}

}  // namespace
}  // namespace ptuner::mp
