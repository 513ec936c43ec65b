#include <gtest/gtest.h>

#include "model_parallel/RMSNorm.h"

namespace ptuner::mp {
namespace {

TEST(RMSNorm, ScalesByRootMeanSquareWithoutCentering) {
  // x = [3, 4]: mean(x²) = 12.5, 1/√12.5 = 0.2828427; weight [2, 0.5]
  auto y = rms_norm(torch::tensor({{3.0f, 4.0f}}), torch::tensor({2.0f, 0.5f}), 0.0);
  EXPECT_NEAR(y[0][0].item<float>(), 1.6970563f, 1e-6);
  EXPECT_NEAR(y[0][1].item<float>(), 0.5656854f, 1e-6);
}

TEST(RMSNorm, EpsilonEntersUnderTheRoot) {
  // x = [1, 1], eps = 3: 1/√(1 + 3) = 0.5
  auto y = rms_norm(torch::tensor({{1.0f, 1.0f}}), torch::ones({2}), 3.0);
  EXPECT_FLOAT_EQ(y[0][0].item<float>(), 0.5f);
}

TEST(RMSNorm, Bf16WeightGivesBf16OutputWithFp32Variance) {
  // Large values whose squares overflow bf16's precision but not fp32's range.
  auto x = torch::full({1, 4}, 300.0f).to(torch::kBFloat16);
  auto y = rms_norm(x, torch::ones({4}, torch::kBFloat16), 1e-6);
  EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
  EXPECT_NEAR(y[0][0].item<float>(), 1.0f, 1e-2);
}

TEST(RMSNorm, ModuleWeightIsFrozenAndStartsAtOne) {
  RMSNorm norm(8, 1e-6);
  EXPECT_FALSE(norm->weight.requires_grad());
  EXPECT_TRUE(torch::equal(norm->weight, torch::ones({8})));
}

}  // namespace
}  // namespace ptuner::mp
