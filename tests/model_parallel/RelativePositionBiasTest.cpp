#include <gtest/gtest.h>

#include "model_parallel/RelativePositionBias.h"

namespace ptuner::mp {
namespace {

int64_t bucket(int64_t rel, bool bidirectional, int64_t buckets = 32, int64_t max_distance = 128) {
  return relative_position_bucket(torch::tensor({rel}), bidirectional, buckets, max_distance).item<int64_t>();
}

// Bidirectional, 32 buckets, max distance 128: 16 buckets a side, exact below 8, then
// 8 + floor(ln(|r|/8) / ln(128/8) · 8), clipped to 15; positive offsets add 16.
TEST(RelativePositionBucket, BidirectionalByHand) {
  EXPECT_EQ(bucket(0, true), 0);
  EXPECT_EQ(bucket(-3, true), 3);
  EXPECT_EQ(bucket(3, true), 19);
  EXPECT_EQ(bucket(-7, true), 7);
  EXPECT_EQ(bucket(-8, true), 8);     // ln(1) = 0
  EXPECT_EQ(bucket(-20, true), 10);   // ln(2.5)/ln(16)·8 = 2.64
  EXPECT_EQ(bucket(20, true), 26);
  EXPECT_EQ(bucket(-127, true), 15);  // 7.977 -> 7
  EXPECT_EQ(bucket(-128, true), 15);  // 8 -> 16, clipped
  EXPECT_EQ(bucket(-1000, true), 15);
  EXPECT_EQ(bucket(1000, true), 31);
}

// Causal, 32 buckets: positive offsets (the future) all fall in bucket 0; exact below 16, then
// 16 + floor(ln(|r|/16) / ln(8) · 16), clipped to 31.
TEST(RelativePositionBucket, CausalByHand) {
  EXPECT_EQ(bucket(5, false), 0);
  EXPECT_EQ(bucket(0, false), 0);
  EXPECT_EQ(bucket(-5, false), 5);
  EXPECT_EQ(bucket(-15, false), 15);
  EXPECT_EQ(bucket(-16, false), 16);
  EXPECT_EQ(bucket(-40, false), 23);   // ln(2.5)/ln(8)·16 = 7.05
  EXPECT_EQ(bucket(-127, false), 31);  // 15.94 -> 15
  EXPECT_EQ(bucket(-200, false), 31);
}

TEST(RelativePositionBucket, SmallConfigByHand) {
  // 8 buckets, max distance 20, bidirectional: 4 a side, exact below 2, then
  // 2 + floor(ln(|r|/2)/ln(10)·2).
  EXPECT_EQ(bucket(-1, true, 8, 20), 1);
  EXPECT_EQ(bucket(-4, true, 8, 20), 2);  // 0.602
  EXPECT_EQ(bucket(-7, true, 8, 20), 3);  // 1.088
  EXPECT_EQ(bucket(7, true, 8, 20), 7);
  EXPECT_EQ(bucket(-30, true, 8, 20), 3);
}

TEST(RelativePositionBias, LooksUpBucketsPerHead) {
  RelativePositionBias bias(RelativePositionBiasOptions(32, 128, 2, true));
  {
    torch::NoGradGuard g;
    bias->weight.copy_(torch::arange(64, torch::kFloat32).view({32, 2}));
  }
  auto b = bias(3, 4);  // [1, 2, 3, 4]
  ASSERT_EQ(b.sizes(), torch::IntArrayRef({1, 2, 3, 4}));
  // query 2, key 0: rel = -2 -> bucket 2 -> rows 2: head 0 = 4, head 1 = 5
  EXPECT_EQ(b[0][0][2][0].item<float>(), 4.0f);
  EXPECT_EQ(b[0][1][2][0].item<float>(), 5.0f);
  // query 0, key 3: rel = +3 -> bucket 19 -> head 1 = 39
  EXPECT_EQ(b[0][1][0][3].item<float>(), 39.0f);
}

}  // namespace
}  // namespace ptuner::mp
