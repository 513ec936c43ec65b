#include <gtest/gtest.h>

#include "dist/ProcessMemory.h"
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

// bf16 activations take the norm's own autograd function: its forward is the plain expression's
// bit for bit, its input gradient is the exact derivative to bf16's precision.
TEST(RMSNorm, Bf16ForwardIsThePlainExpressionAndItsGradientTheDerivative) {
  torch::manual_seed(5);
  const double eps = 1e-6;
  auto x = (torch::randn({16, 256}) * 3).to(torch::kBFloat16).requires_grad_();
  auto w = (torch::rand({256}) + 0.5).to(torch::kBFloat16);
  auto gy = torch::randn({16, 256}).to(torch::kBFloat16);
  auto y = rms_norm(x, w, eps);
  ASSERT_TRUE(y.requires_grad());
  y.backward(gy);
  {
    torch::NoGradGuard no_grad;
    auto plain = w * (x * torch::rsqrt(x.to(torch::kFloat32).pow(2).mean(-1, true) + eps)).to(torch::kBFloat16);
    EXPECT_TRUE(torch::equal(y, plain));
  }
  auto x64 = x.detach().to(torch::kFloat64).requires_grad_();
  auto y64 = w.to(torch::kFloat64) * x64 * torch::rsqrt(x64.pow(2).mean(-1, true) + eps);
  y64.backward(gy.to(torch::kFloat64));
  ASSERT_EQ(x.grad().scalar_type(), torch::kBFloat16);
  const double err = (x.grad().to(torch::kFloat64) - x64.grad()).abs().max().item<double>();
  const double scale = x64.grad().abs().max().item<double>();
  EXPECT_LT(err, 1e-2 * scale);  // bf16 keeps 8 bits: 2^-8 = 0.0039 of a value
  EXPECT_GT(scale, 0.1);
}

// Other shapes and dtypes through the same function: 3-D bf16 activations with an fp32 weight
// (fp32 output), against the fp64 derivative; and a weight that wants a gradient (the bench's
// full-finetune baseline) takes the plain expression and gets one.
TEST(RMSNorm, Bf16WithFp32WeightAndWithATrainableWeight) {
  torch::manual_seed(6);
  const double eps = 1e-6;
  auto x = torch::randn({2, 5, 64}).to(torch::kBFloat16).requires_grad_();
  auto w = torch::rand({64}) + 0.5;
  auto gy = torch::randn({2, 5, 64});
  auto y = rms_norm(x, w, eps);
  EXPECT_EQ(y.scalar_type(), torch::kFloat32);
  y.backward(gy);
  auto x64 = x.detach().to(torch::kFloat64).requires_grad_();
  (w.to(torch::kFloat64) * x64 * torch::rsqrt(x64.pow(2).mean(-1, true) + eps)).backward(gy.to(torch::kFloat64));
  EXPECT_LT((x.grad().to(torch::kFloat64) - x64.grad()).abs().max().item<double>(),
            1e-2 * x64.grad().abs().max().item<double>());

  auto wt = torch::ones({64}, torch::kBFloat16).requires_grad_();
  auto x2 = x.detach().clone().requires_grad_();
  rms_norm(x2, wt, eps).sum().backward();
  ASSERT_TRUE(wt.grad().defined());
  EXPECT_GT(wt.grad().abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(x2.grad().defined());
}

// What the graph keeps for the backward of a bf16 norm: the input (the caller's tensor) and a
// scale per row, not the input's fp32 copy. 8192 × 4096 bf16 is 64 MiB and its fp32 copy 128 MiB
// (allocations above glibc's mmap threshold, so the resident size follows them).
TEST(RMSNorm, Bf16KeepsNoFp32CopyForTheBackward) {
  auto x = torch::randn({8192, 4096}).to(torch::kBFloat16).requires_grad_();
  auto w = torch::ones({4096}, torch::kBFloat16);
  const int64_t MiB = 1 << 20;
  const int64_t before = dist::current_rss_bytes();
  auto y = rms_norm(x, w, 1e-6);
  const int64_t held = dist::current_rss_bytes() - before;
  EXPECT_GT(held, 60 * MiB);  // the output
  EXPECT_LT(held, 80 * MiB) << "the graph holds " << (held - 64 * MiB) / MiB << " MiB beside the 64 MiB output";
  y.sum().backward();
  EXPECT_EQ(x.grad().sizes(), x.sizes());
}

TEST(RMSNorm, ModuleWeightIsFrozenAndStartsAtOne) {
  RMSNorm norm(8, 1e-6);
  EXPECT_FALSE(norm->weight.requires_grad());
  EXPECT_TRUE(torch::equal(norm->weight, torch::ones({8})));
}

}  // namespace
}  // namespace ptuner::mp
