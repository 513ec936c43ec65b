// The fused attention kernel (scaled_dot_product_attention, which CUDA ranks take under LibTorch
// >= 2.1) computes what the written-out path computes: T5's bias as an additive mask, padding and
// causal masks at the dtype's lowest value, no 1/sqrt(d) scaling; outputs and gradients equal on
// the CPU in fp32. With LibTorch 1.13 (Debian's, CI's) only the refusal is checked.
#include <gtest/gtest.h>
#include <torch/version.h>

#include "dist/Check.h"
#include "model_parallel/T5Attention.h"
#include "model_parallel/T5Stack.h"

namespace ptuner::mp {
namespace {

struct Inputs {
  torch::Tensor q, k, v, bias;
};

// [B, H, S, D] queries over [B, H, K, D] keys/values, a position bias, the last key of batch row 1
// padded, and (self-attention, S == K) the causal mask.
Inputs inputs(int64_t S, int64_t K, bool causal, torch::ScalarType dtype) {
  const int64_t B = 2, H = 3, D = 8;
  torch::manual_seed(11);
  // Drawn in fp32 and rounded: a bf16 call sees the fp32 call's values. The masks are made in the
  // dtype itself, at its own lowest value, as T5Stack makes them.
  auto draw = [&](std::vector<int64_t> sizes) { return torch::randn(sizes).to(dtype); };
  Inputs in{draw({B, H, S, D}), draw({B, H, K, D}), draw({B, H, K, D}), draw({1, H, S, K})};
  auto keep = torch::ones({B, K});
  keep[1][K - 1] = 0;
  in.bias = in.bias + additive_mask(keep, dtype);
  if (causal) in.bias = in.bias + causal_mask(S, dtype, torch::kCPU);
  for (auto* t : {&in.q, &in.k, &in.v}) t->requires_grad_(true);
  return in;
}

struct Result {
  torch::Tensor out, dq, dk, dv;
};

Result run(const Inputs& in, AttentionKernel kernel) {
  for (auto* t : {&in.q, &in.k, &in.v}) t->mutable_grad() = torch::Tensor();
  auto out = attention_core(in.q, in.k, in.v, in.bias, 0.0, true, kernel);
  torch::manual_seed(5);
  auto upstream = torch::randn(out.sizes()).to(out.scalar_type());  // the same draws in every dtype
  (out * upstream).sum().backward();
  return {out.detach(), in.q.grad().clone(), in.k.grad().clone(), in.v.grad().clone()};
}

double rel(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a.to(torch::kFloat64) - b.to(torch::kFloat64)).norm() / b.to(torch::kFloat64).norm()).item<double>();
}

TEST(AttentionKernel, FusedEqualsWrittenOutWithT5sBiasAndMasks) {
  if (!fused_attention_available()) {
    EXPECT_THROW(attention_core(torch::zeros({1, 1, 2, 4}), torch::zeros({1, 1, 2, 4}), torch::zeros({1, 1, 2, 4}),
                                torch::Tensor(), 0.0, false, AttentionKernel::Fused),
                 Error);
    GTEST_SKIP() << "LibTorch " << TORCH_VERSION << " has no scaled_dot_product_attention (2.1 and later)";
  }
  for (bool causal : {false, true}) {
    const int64_t S = causal ? 7 : 5, K = 7;  // cross-attention shape (5 over 7) and causal self-attention
    auto in = inputs(S, K, causal, torch::kFloat32);
    auto fused = run(in, AttentionKernel::Fused);
    auto written = run(in, AttentionKernel::WrittenOut);
    SCOPED_TRACE(causal ? "causal self-attention" : "cross-attention");
    EXPECT_LT(rel(fused.out, written.out), 1e-5);  // about 1e-7 under LibTorch 2.6 (CPU)
    EXPECT_LT(rel(fused.dq, written.dq), 1e-5);
    EXPECT_LT(rel(fused.dk, written.dk), 1e-5);
    EXPECT_LT(rel(fused.dv, written.dv), 1e-5);
    // The padded key gets no weight: its value row has no gradient in batch row 1.
    EXPECT_EQ(fused.dv[1].select(1, K - 1).abs().max().item<double>(), 0.0);
    // Scaling by 1/sqrt(d), the kernel's default, would differ: the comparison sees the scale.
    auto scaled = attention_core(in.q / std::sqrt(8.0), in.k, in.v, in.bias, 0.0, false, AttentionKernel::WrittenOut);
    EXPECT_GT(rel(scaled.detach(), written.out), 1e-2);
    // Dropout: none outside training (as the written-out path), applied in training.
    torch::NoGradGuard no_grad;
    auto eval = attention_core(in.q, in.k, in.v, in.bias, 0.5, false, AttentionKernel::Fused);
    EXPECT_LT(rel(eval, written.out), 1e-5);
    auto train = attention_core(in.q, in.k, in.v, in.bias, 0.5, true, AttentionKernel::Fused);
    EXPECT_GT(rel(train, written.out), 0.1);
  }
}

TEST(AttentionKernel, AutoKeepsTheWrittenOutPathOnTheCpu) {
  // CPU results (HF parity, layout equivalence, resume) do not depend on the LibTorch version.
  auto in = inputs(5, 7, false, torch::kFloat32);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(attention_core(in.q, in.k, in.v, in.bias, 0.0, false),
                           attention_core(in.q, in.k, in.v, in.bias, 0.0, false, AttentionKernel::WrittenOut)));
}

TEST(AttentionKernel, FusedInBfloat16StaysNearFp32) {
  if (!fused_attention_available()) GTEST_SKIP() << "LibTorch " << TORCH_VERSION << " has no fused attention";
  auto in = inputs(6, 6, true, torch::kFloat32);
  auto ref = run(in, AttentionKernel::WrittenOut);
  auto b16 = inputs(6, 6, true, torch::kBFloat16);
  auto fused = run(b16, AttentionKernel::Fused);
  EXPECT_LT(rel(fused.out, ref.out), 1e-2);  // 0.37% under LibTorch 2.6 (CPU)
  EXPECT_LT(rel(fused.dq, ref.dq), 3e-2);    // 1.1%
}

}  // namespace
}  // namespace ptuner::mp
