#include <gtest/gtest.h>

#include <cmath>

#include "train/AdamW.h"
#include "train/Adafactor.h"

namespace ptuner::train {
namespace {

std::map<std::string, torch::Tensor> param(const torch::Tensor& value, const torch::Tensor& grad) {
  auto p = value.clone().requires_grad_(true);
  p.mutable_grad() = grad.clone();
  return {{"prompt", p}};
}

// Lester's setting: decay_rate 0.8, clipping 1.0, weight decay 1e-5, no momentum, no scaling.
TEST(Adafactor, TwoStepsByHand) {
  Adafactor opt(AdafactorOptions{});
  auto params = param(torch::tensor({{1.0, -2.0}, {0.5, 3.0}}, torch::kFloat64),
                      torch::tensor({{0.1, -0.2}, {0.3, 0.4}}, torch::kFloat64));
  auto& p = params["prompt"];
  // Step 0: β₂ = 1 − 1^−0.8 = 0, so v = g² and u = g/|g| = sign(g); rms(u) = 1: no clipping.
  // p ← (1 − 1e-5)·p − 0.3·sign(g)
  opt.step(params, 0.3);
  auto expect1 = torch::tensor({{0.69999, -1.69998}, {0.199995, 2.69997}}, torch::kFloat64);
  EXPECT_TRUE(torch::allclose(p.detach(), expect1, 0, 1e-12)) << p;
  // Step 1 with g = [[0.2, 0.1], [−0.1, 0]]: β₂ = 1 − 2^−0.8 = 0.4256508;
  // v = β₂·g₀² + (1 − β₂)·g₁² = [[0.0272305, 0.0227695], [0.0440521, 0.0681041]];
  // u = g/√v = [[1.2119993, 0.6627092], [−0.4764495, 0]]; rms(u) = 0.7306 < 1: no clipping.
  p.mutable_grad() = torch::tensor({{0.2, 0.1}, {-0.1, 0.0}}, torch::kFloat64);
  opt.step(params, 0.3);
  auto expect2 = torch::tensor({{0.3363832, -1.8987758}, {0.3429278, 2.6999430}}, torch::kFloat64);
  EXPECT_TRUE(torch::allclose(p.detach(), expect2, 0, 1e-7)) << p;
  auto state = opt.state();
  EXPECT_EQ(state.at("step").item<int64_t>(), 2);
  EXPECT_NEAR(state.at("prompt/v")[0][0].item<double>(), 0.0272305, 1e-7);
}

TEST(Adafactor, ClipsTheUpdateToTheThreshold) {
  AdafactorOptions o;
  o.clipping_threshold = 0.5;
  o.weight_decay = 0;
  Adafactor opt(o);
  auto params = param(torch::zeros({2}, torch::kFloat64), torch::tensor({2.0, -3.0}, torch::kFloat64));
  // u = sign(g), rms 1 > 0.5: divided by 2; p = −0.1·u/2
  opt.step(params, 0.1);
  EXPECT_TRUE(torch::allclose(params["prompt"].detach(), torch::tensor({-0.05, 0.05}, torch::kFloat64), 0, 1e-12));
}

TEST(Adafactor, FactoredEqualsUnfactoredForRankOneSquaredGradients) {
  // g = a bᵀ gives g² = a² (b²)ᵀ, which the row/column factorisation represents exactly.
  auto a = torch::linspace(0.5, 2.0, 130, torch::kFloat64), b = torch::linspace(-1.0, 3.0, 140, torch::kFloat64);
  auto g = torch::outer(a, b);
  AdafactorOptions o;
  o.factored = true;
  Adafactor factored(o);
  o.factored = false;
  Adafactor plain(o);
  auto p1 = param(torch::ones({130, 140}, torch::kFloat64), g), p2 = param(torch::ones({130, 140}, torch::kFloat64), g);
  factored.step(p1, 0.3);
  plain.step(p2, 0.3);
  EXPECT_TRUE(torch::allclose(p1["prompt"].detach(), p2["prompt"].detach(), 0, 1e-9));
  auto st = factored.state();
  EXPECT_EQ(st.at("prompt/v_row").sizes(), torch::IntArrayRef({130}));
  EXPECT_EQ(st.at("prompt/v_col").sizes(), torch::IntArrayRef({140}));
  EXPECT_EQ(st.count("prompt/v"), 0u);
}

TEST(Adafactor, StateRoundTripContinuesIdentically) {
  Adafactor a(AdafactorOptions{}), b(AdafactorOptions{});
  auto pa = param(torch::randn({3, 4}), torch::randn({3, 4}));
  a.step(pa, 0.3);
  b.load_state(a.state());
  auto pb = param(pa["prompt"].detach(), torch::randn({3, 4}));
  pa["prompt"].mutable_grad() = pb["prompt"].grad().clone();
  a.step(pa, 0.3);
  b.step(pb, 0.3);
  EXPECT_TRUE(torch::equal(pa["prompt"].detach(), pb["prompt"].detach()));
}

TEST(AdamW, FirstStepByHand) {
  // Step 1: m̂ = g, v̂ = g², update = lr·g/(|g| + ε) ≈ lr·sign(g); decay first: p·(1 − lr·wd).
  AdamW opt(AdamWOptions{0.9, 0.999, 1e-8, 0.1});
  auto params = param(torch::tensor({1.0, -1.0}, torch::kFloat64), torch::tensor({0.5, 0.25}, torch::kFloat64));
  opt.step(params, 0.01);
  const double decayed = 1.0 * (1 - 0.01 * 0.1);
  EXPECT_NEAR(params["prompt"][0].item<double>(), decayed - 0.01 * 0.5 / (0.5 + 1e-8), 1e-12);
  EXPECT_NEAR(params["prompt"][1].item<double>(), -decayed - 0.01 * 0.25 / (0.25 + 1e-8), 1e-12);
}

}  // namespace
}  // namespace ptuner::train
