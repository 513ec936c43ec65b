// With every frozen weight requires_grad = false, a forward/backward leaves every model
// parameter's gradient undefined while the prompt gets one; FrozenLinear's input gradient
// equals autograd's.
#include <gtest/gtest.h>

#include "dist/MpiCommunicator.h"
#include "tests/MpiSupport.h"
#include "model_parallel/CrossEntropy.h"
#include "model_parallel/WeightLoader.h"
#include "tests/StageSupport.h"

namespace ptuner::mp {
namespace {

TEST(FrozenModel, OnlyThePromptReceivesGradients) {
  auto config = T5Config::preset("t5-tiny");
  auto self = ptuner::testing::self();
  dist::ParallelState ps(dist::Layout{}, self);
  T5Model model(config, ps, StageSpec::whole(config));
  init_weights(model, 3, ps.tp());
  auto prompt = torch::randn({5, config.d_model}, torch::requires_grad());
  PromptInjection inj;
  inj.encoder_prefix = prompt;
  auto ids = torch::randint(3, 900, {2, 7}, torch::kLong);
  auto mask = torch::ones({2, 7}, torch::kLong);
  auto labels = torch::randint(3, 900, {2, 4}, torch::kLong);
  PipelineStage stage(model);
  stage.loss(ptuner::testing::decoder_output(stage, ids, mask, labels, inj), labels, 1e-4).total.backward();

  int64_t count = 0;
  for (const auto& p : model->named_parameters()) {
    EXPECT_FALSE(p.value().requires_grad()) << p.key();
    EXPECT_FALSE(p.value().grad().defined()) << p.key();
    ++count;
  }
  // shared, lm_head, 2 × (enc: q k v o wi_0 wi_1 wo + 2 norms; dec: 4 + 4 + 3 + 3 norms),
  // two position biases, two final norms.
  EXPECT_EQ(count, 2 + 2 * 9 + 2 * 14 + 2 + 2);
  ASSERT_TRUE(prompt.grad().defined());
  EXPECT_GT(prompt.grad().abs().sum().item<double>(), 0.0);
}

// Deep prompts: key/value prefixes reach every frozen layer's attention, yet the frozen weights
// still get no gradient (and, through FrozenLinear, keep no input for one).
TEST(FrozenModel, OnlyDeepPrefixesReceiveGradients) {
  auto config = T5Config::preset("t5-tiny");
  auto self = ptuner::testing::self();
  dist::ParallelState ps(dist::Layout{}, self);
  T5Model model(config, ps, StageSpec::whole(config));
  init_weights(model, 4, ps.tp());
  // Key/value prefixes in every self-attention and every cross-attention, no encoder rows.
  PromptInjection inj;
  std::vector<torch::Tensor> leaves;
  auto kv = [&] {
    auto t = torch::randn({1, config.num_heads, 3, config.d_kv}, torch::requires_grad());
    leaves.push_back(t);
    return t;
  };
  const int64_t blocks = config.num_layers + config.num_decoder_layers;
  for (int64_t b = 0; b < blocks; ++b) {
    inj.self_kv[b] = {kv(), kv(), {}};
    if (b >= config.num_layers) inj.cross_kv[b] = {kv(), kv(), {}};
  }
  auto ids = torch::randint(3, 900, {2, 7}, torch::kLong);
  auto mask = torch::ones({2, 7}, torch::kLong);
  auto labels = torch::randint(3, 900, {2, 4}, torch::kLong);
  PipelineStage stage(model);
  stage.loss(ptuner::testing::decoder_output(stage, ids, mask, labels, inj), labels, 1e-4).total.backward();
  for (const auto& p : model->named_parameters()) {
    EXPECT_FALSE(p.value().requires_grad()) << p.key();
    EXPECT_FALSE(p.value().grad().defined()) << p.key();
  }
  for (size_t i = 0; i < leaves.size(); ++i) {
    ASSERT_TRUE(leaves[i].grad().defined()) << "prefix tensor " << i;
    EXPECT_GT(leaves[i].grad().abs().sum().item<double>(), 0.0) << "prefix tensor " << i;
  }
}

TEST(FrozenLinear, InputGradientEqualsAutograd) {
  auto w = torch::randn({6, 4});
  auto x1 = torch::randn({3, 5, 4}, torch::requires_grad());
  auto x2 = x1.detach().clone().requires_grad_(true);
  auto g = torch::randn({3, 5, 6});
  auto y1 = frozen_linear(x1, w);
  auto y2 = torch::matmul(x2, w.t());
  EXPECT_TRUE(torch::allclose(y1, y2));
  y1.backward(g);
  y2.backward(g);
  EXPECT_TRUE(torch::allclose(x1.grad(), x2.grad(), 1e-6, 1e-6));
  EXPECT_FALSE(w.grad().defined());
}

TEST(CrossEntropy, SumsOverNonIgnoredTokensWithZLoss) {
  // logits [1, 2, 2]: token 0 -> [0, ln 3] label 1; token 1 ignored.
  auto logits = torch::tensor({0.0f, std::log(3.0f), 5.0f, 5.0f}).view({1, 2, 2});
  auto labels = torch::tensor({1L, -100L}).view({1, 2});
  auto s = cross_entropy_sums(logits, labels, 0.5);
  // lse = ln 4; ce = ln 4 − ln 3 = ln(4/3); z = 0.5 · (ln 4)²
  EXPECT_EQ(s.tokens.item<int64_t>(), 1);
  EXPECT_NEAR(s.ce.item<double>(), std::log(4.0 / 3.0), 1e-6);
  EXPECT_NEAR(s.total.item<double>(), std::log(4.0 / 3.0) + 0.5 * std::pow(std::log(4.0), 2), 1e-6);
}

TEST(CrossEntropy, ShiftRightPrependsStartAndReplacesIgnored) {
  auto labels = torch::tensor({7L, 8L, 1L, -100L}).view({1, 4});
  auto dec = shift_right(labels, 0, 0);
  EXPECT_TRUE(torch::equal(dec, torch::tensor({0L, 7L, 8L, 1L}).view({1, 4})));
  auto labels2 = torch::tensor({7L, -100L, -100L}).view({1, 3});
  EXPECT_TRUE(torch::equal(shift_right(labels2, 5, 0), torch::tensor({5L, 7L, 0L}).view({1, 3})));
}

}  // namespace
}  // namespace ptuner::mp
