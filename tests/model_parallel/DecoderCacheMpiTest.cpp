// The decoder's key/value cache (DecoderCache) against the decoder without it: fed one position
// at a time, or a few at once, the cached decoder gives each position's output and logits as the
// whole-sequence decoder does, with deep-prompt prefixes in its self- and cross-attention; the
// cross-attention-only cache gives each target sequence what a fresh pass gives. TP = the world
// size (1 alone, 2 and 4 under mpirun): each rank caches its own heads.
#include <gtest/gtest.h>

#include "dist/Check.h"
#include "model_parallel/MemoryPlan.h"
#include "model_parallel/WeightLoader.h"
#include "tests/MpiSupport.h"
#include "tests/StageSupport.h"

namespace ptuner::mp {
namespace {

using ptuner::testing::rel_diff;

struct DecoderCacheTest : ::testing::Test {
  void SetUp() override {
    auto w = ptuner::testing::world();
    ps = std::make_unique<dist::ParallelState>(dist::Layout{w->size(), 1, 1}, w);
    c = T5Config::preset("t5-tiny");
    model = T5Model(c, *ps, StageSpec::whole(c));
    init_weights(model, 3, ps->tp());
    model->eval();
    stage = std::make_unique<PipelineStage>(model);
    torch::manual_seed(17);  // the same draws on every rank
    ids = torch::randint(3, 1000, {B, 7}, torch::kLong);
    mask = torch::ones({B, 7}, torch::kLong);
    mask[1].narrow(0, 5, 2).fill_(0);  // row 1 padded
    dec = torch::randint(3, 1000, {B, T}, torch::kLong);
    dec.select(1, 0).fill_(c.decoder_start_token_id);
  }
  // Deep-prompt prefixes on every decoder block, this rank's heads: self-attention 2 rows (the
  // second block's with a score bias per decoder position), cross-attention 3 rows (with a score
  // bias; the first block's per decoder position).
  PromptInjection deep_prompt() {
    PromptInjection p;
    const int64_t H = c.num_heads, tp = ps->tp_size(), r = ps->tp_rank();
    auto heads = [&](int64_t rows) { return torch::randn({1, H, rows, c.d_kv}).chunk(tp, 1)[r]; };
    for (int64_t i = 0; i < c.num_decoder_layers; ++i) {
      const int64_t g = c.num_layers + i;
      p.self_kv[g] = KvPrefix(heads(2), heads(2));
      p.cross_kv[g] = KvPrefix(heads(3), heads(3), torch::randn({1, 1, 1, 3}));
    }
    p.self_kv[c.num_layers + 1].bias = torch::randn({1, 1, T, 2});
    p.cross_kv[c.num_layers].bias = torch::randn({1, 1, T, 3});
    return p;
  }
  torch::Tensor encode(const PromptInjection& p) {
    return stage->encode_blocks(ids, torch::Tensor(), prefixed_mask(mask, p.prefix_length()), p);
  }

  static constexpr int64_t B = 2, T = 6;
  std::unique_ptr<dist::ParallelState> ps;
  T5Config c;
  T5Model model{nullptr};
  std::unique_ptr<PipelineStage> stage;
  torch::Tensor ids, mask, dec;
};

TEST_F(DecoderCacheTest, IncrementalDecodingEqualsTheWholeSequence) {
  torch::NoGradGuard no_grad;
  for (bool deep : {false, true}) {
    const auto p = deep ? deep_prompt() : PromptInjection{};
    const auto enc_mask = prefixed_mask(mask, p.prefix_length());
    const auto enc = encode(p);
    const auto whole = stage->decode_blocks(dec, torch::Tensor(), enc, enc_mask, p);  // [B, T, d]
    const auto whole_logits = stage->logits(whole);
    // One position per call.
    DecoderCache cache;
    const void* cross_keys = nullptr;
    for (int64_t t = 0; t < T; ++t) {
      auto h = stage->decode_blocks(dec.narrow(1, t, 1), torch::Tensor(), enc, enc_mask, p, &cache);
      ASSERT_EQ(h.size(1), 1);
      EXPECT_LT(rel_diff(h, whole.narrow(1, t, 1)), 1e-5) << "position " << t << " deep " << deep;
      EXPECT_LT(rel_diff(stage->logits(h), whole_logits.narrow(1, t, 1)), 1e-5) << "position " << t;
      EXPECT_EQ(cache.length(), t + 1);
      // The encoder output's keys are projected at the first position only.
      const void* now = cache.cross.at(c.num_layers).key.data_ptr();
      if (cross_keys) {
        EXPECT_EQ(now, cross_keys) << "position " << t;
      }
      cross_keys = now;
    }
    ASSERT_EQ(cache.self.size(), static_cast<size_t>(c.num_decoder_layers));
    for (const auto& [g, kv] : cache.self) {
      EXPECT_EQ(kv.key.sizes(), (std::vector<int64_t>{B, c.num_heads / ps->tp_size(), T, c.d_kv})) << g;
      EXPECT_EQ(cache.cross.at(g).length(), enc.size(1)) << g;  // the prompt's prefix rows are not cached
    }
    // Three positions, then three more: the causal mask within each call, after the cached ones.
    DecoderCache chunks;
    auto first = stage->decode_blocks(dec.narrow(1, 0, 3), torch::Tensor(), enc, enc_mask, p, &chunks);
    auto second = stage->decode_blocks(dec.narrow(1, 3, 3), torch::Tensor(), enc, enc_mask, p, &chunks);
    EXPECT_LT(rel_diff(torch::cat({first, second}, 1), whole), 1e-5) << "deep " << deep;
    // Not vacuous: a position decoded as if it were the first differs.
    DecoderCache fresh;
    auto alone = stage->decode_blocks(dec.narrow(1, 3, 1), torch::Tensor(), enc, enc_mask, p, &fresh);
    EXPECT_GT(rel_diff(alone, whole.narrow(1, 3, 1)), 1e-2);
  }
}

TEST_F(DecoderCacheTest, CrossOnlyCacheServesEveryTargetSequence) {
  torch::NoGradGuard no_grad;
  auto p = deep_prompt();
  p.self_kv[c.num_layers + 1].bias = torch::Tensor();  // (their rows are for sequences of T positions)
  p.cross_kv[c.num_layers].bias = torch::Tensor();
  const auto enc_mask = prefixed_mask(mask, p.prefix_length());
  const auto enc = encode(p);
  DecoderCache cross(DecoderCache::Mode::CrossOnly);
  const void* keys = nullptr;
  for (int64_t len : {4, 2, 6}) {
    const auto d = dec.narrow(1, 0, len);
    auto expected = stage->decode_blocks(d, torch::Tensor(), enc, enc_mask, p);
    auto got = stage->decode_blocks(d, torch::Tensor(), enc, enc_mask, p, &cross);
    // The same keys and values, projected by the same matmul: the same bits.
    EXPECT_TRUE(torch::equal(got, expected)) << "length " << len;
    EXPECT_EQ(cross.length(), 0);
    EXPECT_TRUE(cross.self.empty());
    const auto* now = cross.cross.at(c.num_layers).key.data_ptr();
    if (keys) {
      EXPECT_EQ(now, keys) << "the encoder output's keys were projected again";
    }
    keys = now;
  }
}

// The bytes a cache holds after decoding, summed over its tensors.
int64_t cache_bytes(const DecoderCache& cache) {
  int64_t n = 0;
  for (const auto* side : {&cache.self, &cache.cross})
    for (const auto& [g, kv] : *side) n += kv.key.nbytes() + kv.value.nbytes();
  return n;
}

// `ptuner plan`'s evaluation estimate counts the caches a greedy decode and a rank scoring leave
// behind exactly, at this rank's share of the heads (tp = the world size).
TEST_F(DecoderCacheTest, HoldsTheBytesThePlanCounts) {
  torch::NoGradGuard no_grad;
  const auto enc_mask = prefixed_mask(mask, 0);
  const auto enc = encode({});
  PlanInputs in;
  in.tp = ps->tp_size();
  in.eval_rows = B;
  in.input_tokens = enc.size(1);
  in.target_tokens = T;
  in.activation_bytes = 4;
  DecoderCache greedy;
  for (int64_t t = 0; t < T; ++t) stage->decode_blocks(dec.narrow(1, t, 1), torch::Tensor(), enc, enc_mask, {}, &greedy);
  const auto planned = plan_evaluation(c, StageSpec::whole(c), in);
  EXPECT_EQ(cache_bytes(greedy), planned.cache_bytes);
  // t5-tiny: 2 decoder blocks, keys and values of 7 encoder and 6 decoder positions, 2 rows,
  // 4 heads of 16 (over tp), fp32.
  EXPECT_EQ(planned.cache_bytes, 2 * 2 * 2 * (7 + T) * (4 / ps->tp_size()) * 16 * 4);
  DecoderCache rank(DecoderCache::Mode::CrossOnly);
  stage->decode_blocks(dec, torch::Tensor(), enc, enc_mask, {}, &rank);
  in.eval_greedy = false;
  EXPECT_EQ(cache_bytes(rank), plan_evaluation(c, StageSpec::whole(c), in).cache_bytes);
}

TEST_F(DecoderCacheTest, IsRefusedWhereGradientsAreRecordedOrTheBatchChanges) {
  const auto enc_mask = prefixed_mask(mask, 0);
  torch::Tensor enc;
  {
    torch::NoGradGuard no_grad;
    enc = encode({});
  }
  // The error a call gives ("" if none).
  auto error_of = [&](auto&& call) -> std::string {
    try {
      call();
    } catch (const ptuner::Error& e) {
      return e.what();
    }
    return "";
  };
  DecoderCache cache;
  EXPECT_NE(error_of([&] { stage->decode_blocks(dec.narrow(1, 0, 1), torch::Tensor(), enc, enc_mask, {}, &cache); })
                .find("a decoder cache is for decoding without gradients"),
            std::string::npos);
  torch::NoGradGuard no_grad;
  stage->decode_blocks(dec.narrow(1, 0, 1), torch::Tensor(), enc, enc_mask, {}, &cache);
  // The next call with one row where the cache holds two.
  EXPECT_NE(error_of([&] {
              stage->decode_blocks(dec.narrow(0, 0, 1).narrow(1, 1, 1), torch::Tensor(), enc.narrow(0, 0, 1),
                                   enc_mask.narrow(0, 0, 1), {}, &cache);
            }).find("the attention cache holds 2 rows, the input has 1"),
            std::string::npos);
  // Another encoder output than the one whose keys the cache holds.
  DecoderCache cross(DecoderCache::Mode::CrossOnly);
  stage->decode_blocks(dec, torch::Tensor(), enc, enc_mask, {}, &cross);
  EXPECT_NE(error_of([&] {
              stage->decode_blocks(dec, torch::Tensor(), enc.narrow(1, 0, 5), enc_mask.narrow(1, 0, 5), {}, &cross);
            }).find("the cross-attention cache holds 7 encoder positions, the input has 5"),
            std::string::npos);
}

}  // namespace
}  // namespace ptuner::mp
