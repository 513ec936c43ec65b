// The plan's parameter counts against the modules the model really builds for each stage.
#include <gtest/gtest.h>

#include "dist/MpiCommunicator.h"
#include "tests/MpiSupport.h"
#include "model_parallel/MemoryPlan.h"
#include "model_parallel/StageSplit.h"
#include "model_parallel/T5Model.h"

namespace ptuner::mp {
namespace {

int64_t built_parameters(const T5Config& c, const StageSpec& s) {
  auto self = ptuner::testing::self();
  dist::ParallelState ps(dist::Layout{}, self);
  T5Model m(c, ps, s);
  int64_t n = 0;
  for (const auto& p : m->parameters()) n += p.numel();
  return n;
}

TEST(MemoryPlan, CountsEqualTheBuiltStagesAndSumToTheModel) {
  for (bool v10 : {false, true}) {
    auto c = T5Config::preset("t5-tiny");
    if (v10) c.feed_forward_proj = "relu", c.tie_word_embeddings = true;
    for (int pp : {1, 2, 3, 4}) {
      PlanInputs in;
      in.pp = pp;
      auto stages = split_stages(c, pp, StageCosts::of(c, 64, 8));
      int64_t owned = 0;
      for (int s = 0; s < pp; ++s) {
        auto plan = plan_rank(c, stages[s], 0, s, in);
        EXPECT_EQ(plan.owned_parameters + plan.replica_parameters, built_parameters(c, stages[s]))
            << "pp " << pp << " stage " << s << (v10 ? " v1.0" : " v1.1");
        owned += plan.owned_parameters;
      }
      EXPECT_EQ(owned, c.num_parameters()) << "pp " << pp;
    }
  }
}

TEST(MemoryPlan, RecomputationAndOneFOneBNeedLessActivationMemory) {
  auto c = T5Config::preset("t5.1.1-base");
  auto stages = split_stages(c, 4, StageCosts::of(c, 512, 32));
  PlanInputs in;
  in.pp = 4, in.micro_batches = 16, in.micro_batch = 2, in.input_tokens = 512, in.target_tokens = 32;
  in.schedule = "gpipe";
  const auto gpipe = plan_rank(c, stages[0], 0, 0, in).activation_bytes;
  in.schedule = "1f1b";
  const auto one = plan_rank(c, stages[0], 0, 0, in).activation_bytes;
  in.recompute = true;
  const auto rc = plan_rank(c, stages[0], 0, 0, in).activation_bytes;
  EXPECT_EQ(gpipe, one * 4);  // 16 micro-batches alive against pp − 0 = 4
  EXPECT_LT(rc, one / 4);
}

// T5-XXL, one stage, micro-batch 8 of 512 input and 16 target tokens, bf16 activations. Per
// block the encoder's written-out attention keeps two fp32 [8, 64, 512, 512] score tensors
// (1 GiB); the fused kernel keeps an fp32 [8, 64, 512] row statistic, and the encoder's bias
// ([8, 64, 512, 512] bf16, 256 MiB) once for all 24 blocks.
TEST(MemoryPlan, FusedAttentionKeepsNoScores) {
  auto c = T5Config::preset("t5.1.1-xxl");
  auto stage = split_stages(c, 1, StageCosts::of(c, 512, 16)).at(0);
  PlanInputs in;
  in.micro_batch = 8, in.input_tokens = 512, in.target_tokens = 16, in.weight_bytes = in.activation_bytes = 2;
  const auto written_out = plan_rank(c, stage, 0, 0, in).activation_bytes;
  in.fused_attention = true;
  const auto fused = plan_rank(c, stage, 0, 0, in).activation_bytes;
  const int64_t MiB = 1 << 20;
  // 24 encoder blocks: 1024 MiB of scores each, 1 MiB of row statistics instead; 24 decoder
  // blocks: 2·8·64·(16² + 16·512)·4 bytes = 33 MiB each, 2·8·64·16·4 = 64 KiB instead; plus the
  // stacks' biases: 256 MiB + 64·16²·2 bytes.
  const int64_t saved = 24 * (1024 * MiB - MiB) + 24 * (33 * MiB - 64 * 1024) - (256 * MiB + 64 * 16 * 16 * 2);
  EXPECT_EQ(written_out - fused, saved);
  EXPECT_NEAR(static_cast<double>(written_out) / (1 << 30), 36.82, 0.01);
  EXPECT_NEAR(static_cast<double>(fused) / (1 << 30), 12.32, 0.01);
}

// bf16 activations halve every saved activation but the fp32 statistics (attention row
// statistics, cross-entropy): the layer norms keep no fp32 copy of their input (RMSNorm.cpp,
// checked in RMSNormTest), which would be 3.14 GiB more for T5-XXL at micro-batch 8.
TEST(MemoryPlan, Bf16HalvesAllButTheFp32Statistics) {
  auto c = T5Config::preset("t5.1.1-xxl");
  auto stage = split_stages(c, 1, StageCosts::of(c, 512, 16)).at(0);
  PlanInputs in;
  in.micro_batch = 8, in.input_tokens = 512, in.target_tokens = 16, in.fused_attention = true;
  in.weight_bytes = in.activation_bytes = 4;
  const auto fp32 = plan_rank(c, stage, 0, 0, in).activation_bytes;
  in.weight_bytes = in.activation_bytes = 2;
  const auto bf16 = plan_rank(c, stage, 0, 0, in).activation_bytes;
  // What halves with the dtype, and what does not.
  const int64_t B = 8, S = 512, T = 16, d = 4096, i = 4096, f = 3 * 10240, h = 64, V = 32128;
  const int64_t halved = 24 * B * S * (2 * d + 4 * i + f) + 24 * (B * T * (3 * d + 6 * i + f) + B * S * 2 * i) +
                         B * h * S * S + h * T * T;
  const int64_t fixed = 24 * B * h * S * 4 + 24 * 2 * B * h * T * 4 + 2 * B * T * V * 4;
  EXPECT_EQ(fp32, 4 * halved + fixed);
  EXPECT_EQ(bf16, 2 * halved + fixed);
}

// Evaluating 64 rows of T5-XXL on one GPU (bf16, fused attention, 512 input and 16 target
// tokens): the decoder's caches of 24 blocks (keys and values of 512 encoder and 16 decoded
// positions, 64 heads of 64) outweigh training's activations at micro-batch 8 (12.32 GiB), and
// the rank's total counts the larger; rank scoring caches the encoder's positions alone.
TEST(MemoryPlan, EvaluationCountsTheDecoderCacheAndTheLargerPhase) {
  auto c = T5Config::preset("t5.1.1-xxl");
  auto stage = split_stages(c, 1, StageCosts::of(c, 512, 16)).at(0);
  PlanInputs in;
  in.micro_batch = 8, in.input_tokens = 512, in.target_tokens = 16, in.weight_bytes = in.activation_bytes = 2;
  in.fused_attention = true;
  const auto training_only = plan_rank(c, stage, 0, 0, in);
  EXPECT_EQ(training_only.eval.bytes(), 0);
  EXPECT_EQ(training_only.total_bytes(), training_only.weight_bytes + training_only.activation_bytes);
  in.eval_rows = 64;
  const auto greedy = plan_rank(c, stage, 0, 0, in);
  // f: the gated feed-forward's four [.., d_ff] tensors alive at once (wi_0 x, gelu, wi_1 x, product).
  const int64_t B = 64, S = 512, T = 16, d = 4096, i = 4096, f = 4 * 10240, h = 64, V = 32128, a = 2;
  EXPECT_EQ(greedy.eval.cache_bytes, 24 * 2 * B * (S + T) * i * a);  // 12.375 GiB
  // The encoder output, the caches, one decoded token's feed-forward, the gathered logits.
  EXPECT_EQ(greedy.eval.decoder_bytes, B * S * d * a + greedy.eval.cache_bytes + B * f * a + B * 2 * V * a);
  // One encoder block at a time: its input and its normed copy, the stack's bias, the feed-forward.
  EXPECT_EQ(greedy.eval.encoder_bytes, 2 * B * S * d * a + B * h * S * S * a + B * S * f * a);
  EXPECT_NEAR(static_cast<double>(greedy.eval.bytes()) / (1 << 30), 12.64, 0.01);
  EXPECT_EQ(greedy.activation_bytes, training_only.activation_bytes);
  EXPECT_EQ(greedy.total_bytes(), greedy.weight_bytes + greedy.eval.decoder_bytes);
  in.eval_greedy = false;
  const auto rank = plan_rank(c, stage, 0, 0, in);
  EXPECT_EQ(rank.eval.cache_bytes, 24 * 2 * B * S * i * a);
  // Written out, an encoder block's attention outweighs its feed-forward: q, k, v and the scores,
  // 64·64·512² elements in bf16 twice (the scores, the softmax cast back) and in fp32 twice.
  in.fused_attention = false;
  EXPECT_EQ(plan_rank(c, stage, 0, 0, in).eval.encoder_bytes,
            2 * B * S * d * a + B * h * S * S * a + 3 * B * S * i * a + B * h * S * S * (2 * a + 8));
  // A stage without decoder blocks keeps no cache; tp = 8 holds an eighth of the heads.
  const auto stages = split_stages(c, 2, StageCosts::of(c, 512, 16));
  EXPECT_EQ(plan_evaluation(c, stages.at(0), in).cache_bytes, 0);
  in.tp = 8;
  EXPECT_EQ(plan_evaluation(c, stage, in).cache_bytes * 8, rank.eval.cache_bytes);
}

}  // namespace
}  // namespace ptuner::mp
