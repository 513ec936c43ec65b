// Key/value prefixes (the deep-prompt seam) in T5 attention: the prefix rows join the keys and
// values of every head with zero position bias and are never masked; the output equals the
// attention written out by hand, and gradients reach the prefix.
#include <gtest/gtest.h>

#include <limits>

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

// Attention written out: scores q·kᵀ over [prefix rows; the K positions], the prefix columns
// with `prefix_bias` (zero by default) and the rest with `bias`, softmax, weighted values, o.
torch::Tensor by_hand(T5Attention& att, const T5Config& c, const torch::Tensor& x, const torch::Tensor& src,
                      const torch::Tensor& bias, const KvPrefix& prefix, const torch::Tensor& prefix_bias = {}) {
  torch::NoGradGuard no_grad;
  const int64_t B = x.size(0), S = x.size(1), K = src.size(1), P = prefix.length(), H = c.num_heads, D = c.d_kv;
  auto heads = [&](const torch::Tensor& t, int64_t len) { return t.view({B, len, H, D}).transpose(1, 2); };
  auto k = torch::cat({prefix.key.expand({B, H, P, D}), heads(att->k(src), K)}, 2);
  auto v = torch::cat({prefix.value.expand({B, H, P, D}), heads(att->v(src), K)}, 2);
  auto scores = torch::matmul(heads(att->q(x), S), k.transpose(-1, -2));
  auto pb = prefix_bias.defined() ? prefix_bias.expand({B, H, S, P}) : torch::zeros({B, H, S, P});
  scores = scores + torch::cat({pb, bias.expand({B, H, S, K})}, 3);
  auto ctx = torch::matmul(torch::softmax(scores, -1), v).transpose(1, 2).reshape({B, S, H * D});
  return att->o(ctx);
}

TEST(AttentionPrefix, TheDecodersCausalSelfAttentionSeesATwoRowPrefixFromEveryPosition) {
  auto c = T5Config::preset("t5-tiny");
  auto att = random_attention(c, 3);
  const int64_t B = 2, T = 4, P = 2;
  auto x = torch::randn({B, T, c.d_model});
  // Position bias plus the causal mask: query t sees keys ≤ t, and every prefix row.
  auto causal = torch::full({T, T}, -1e9).triu(1).view({1, 1, T, T});
  auto bias = torch::randn({1, c.num_heads, T, T}) + causal;
  KvPrefix prefix{torch::randn({1, c.num_heads, P, c.d_kv}), torch::randn({1, c.num_heads, P, c.d_kv})};
  auto out = att->forward(x, torch::Tensor(), bias, &prefix);
  EXPECT_TRUE(torch::allclose(out, by_hand(att, c, x, x, bias, prefix), 1e-5, 1e-6));
  // The first position attends to itself and the prefix only: changing a later token leaves it.
  auto y = x.clone();
  y[0][3] += 1.0;
  auto out_y = att->forward(y, torch::Tensor(), bias, &prefix);
  EXPECT_TRUE(torch::allclose(out_y[0][0], out[0][0], 1e-6, 1e-7));
  EXPECT_FALSE(torch::allclose(out_y[0][3], out[0][3], 1e-3, 1e-4));
}

TEST(AttentionPrefix, CrossAttentionPutsATwoRowPrefixBeforeTheEncoderOutput) {
  auto c = T5Config::preset("t5-tiny");
  auto att = random_attention(c, 4);
  const int64_t B = 2, T = 3, K = 5, P = 2;
  auto x = torch::randn({B, T, c.d_model});
  auto enc = torch::randn({B, K, c.d_model});
  auto mask = torch::zeros({B, 1, 1, K});
  mask[0][0][0][4] = -1e9;  // a padded encoder position in row 0; the prefix is never masked
  KvPrefix prefix{torch::randn({1, c.num_heads, P, c.d_kv}), torch::randn({1, c.num_heads, P, c.d_kv})};
  auto out = att->forward(x, enc, mask, &prefix);
  EXPECT_TRUE(torch::allclose(out, by_hand(att, c, x, enc, mask, prefix), 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(att->forward(x, enc, mask), out, 1e-3, 1e-4));
}

TEST(AttentionPrefix, APrefixBiasAtMinusInfinitySwitchesThePrefixOff) {
  auto c = T5Config::preset("t5-tiny");
  auto att = random_attention(c, 5);
  const int64_t B = 2, S = 4, P = 2;
  auto x = torch::randn({B, S, c.d_model});
  auto bias = torch::randn({1, c.num_heads, S, S});
  KvPrefix prefix{torch::randn({1, c.num_heads, P, c.d_kv}), torch::randn({1, c.num_heads, P, c.d_kv})};
  // A finite per-row bias is added to the prefix columns only ...
  prefix.bias = torch::randn({B, 1, 1, P});
  EXPECT_TRUE(torch::allclose(att->forward(x, torch::Tensor(), bias, &prefix),
                              by_hand(att, c, x, x, bias, prefix, prefix.bias), 1e-5, 1e-6));
  // ... and −∞ leaves the attention as without a prefix, also with no other bias at all.
  prefix.bias = torch::full({1, 1, 1, P}, -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(torch::allclose(att->forward(x, torch::Tensor(), bias, &prefix), att->forward(x, torch::Tensor(), bias),
                              1e-6, 1e-7));
  EXPECT_TRUE(torch::allclose(att->forward(x, torch::Tensor(), torch::Tensor(), &prefix),
                              att->forward(x, torch::Tensor(), torch::Tensor()), 1e-6, 1e-7));
}

}  // namespace
}  // namespace ptuner::mp
