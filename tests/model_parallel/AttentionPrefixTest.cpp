// Key/value prefixes (the deep-prompt seam) in T5 attention: the prefix rows join the keys and
// values of every head with zero position bias and are never masked; the output equals the
// attention written out by hand, and gradients reach the prefix.
#include <gtest/gtest.h>

#include "model_parallel/T5Attention.h"
#include "dist/Check.h"
#include "tests/MpiSupport.h"

namespace ptuner::mp {
namespace {

// One rank's attention with small random weights (its TP communicator lives as long as the process).
T5Attention random_attention(const T5Config& c, uint64_t seed) {
  static const auto self = ptuner::testing::self();
  T5Attention att(c, *self);
  torch::manual_seed(seed);
  for (auto& p : att->parameters()) p.copy_(torch::randn_like(p) * 0.1);
  return att;
}

TEST(AttentionPrefix, EqualsAttentionOverThePrefixedKeysAndValues) {
  auto c = T5Config::preset("t5-tiny");
  auto att = random_attention(c, 1);
  const int64_t B = 2, S = 5, P = 3, H = c.num_heads, D = c.d_kv;
  auto x = torch::randn({B, S, c.d_model});
  auto bias = torch::randn({1, H, S, S});  // a position bias
  auto mask = torch::zeros({B, 1, 1, S});
  mask[1][0][0][4] = -1e9;  // one padded key in row 1
  KvPrefix prefix{torch::randn({1, H, P, D}, torch::requires_grad()), torch::randn({1, H, P, D}, torch::requires_grad())};
  auto out = att->forward(x, torch::Tensor(), bias + mask, &prefix);

  // By hand: [B, H, P+S, D] keys and values, scores with zero bias over the prefix.
  torch::NoGradGuard no_grad;
  auto heads = [&](const torch::Tensor& t) { return t.view({B, S, H, D}).transpose(1, 2); };
  auto k = torch::cat({prefix.key.expand({B, H, P, D}), heads(att->k(x))}, 2);
  auto v = torch::cat({prefix.value.expand({B, H, P, D}), heads(att->v(x))}, 2);
  auto scores = torch::matmul(heads(att->q(x)), k.transpose(-1, -2));
  scores = scores + torch::cat({torch::zeros({B, H, S, P}), (bias + mask).expand({B, H, S, S})}, 3);
  auto ctx = torch::matmul(torch::softmax(scores, -1), v).transpose(1, 2).reshape({B, S, H * D});
  auto expected = att->o(ctx);
  EXPECT_TRUE(torch::allclose(out, expected, 1e-5, 1e-6));
  // Without the prefix the output differs: the comparison is not vacuous.
  EXPECT_FALSE(torch::allclose(att->forward(x, torch::Tensor(), bias + mask), expected, 1e-3, 1e-4));
}

TEST(AttentionPrefix, GradientsReachThePrefixAndBadShapesAreRefused) {
  auto c = T5Config::preset("t5-tiny");
  auto att = random_attention(c, 2);
  auto x = torch::randn({2, 4, c.d_model});
  auto kv = torch::randn({2, 6, c.d_model});  // cross-attention
  KvPrefix prefix{torch::randn({1, c.num_heads, 2, c.d_kv}, torch::requires_grad()),
                  torch::randn({1, c.num_heads, 2, c.d_kv}, torch::requires_grad())};
  att->forward(x, kv, torch::Tensor(), &prefix).sum().backward();
  ASSERT_TRUE(prefix.key.grad().defined() && prefix.value.grad().defined());
  EXPECT_GT(prefix.key.grad().abs().sum().item<double>(), 0);
  EXPECT_GT(prefix.value.grad().abs().sum().item<double>(), 0);
  KvPrefix wrong{torch::randn({1, c.num_heads + 1, 2, c.d_kv}), torch::randn({1, c.num_heads + 1, 2, c.d_kv})};
  EXPECT_THROW(att->forward(x, kv, torch::Tensor(), &wrong), ptuner::Error);
}

}  // namespace
}  // namespace ptuner::mp
