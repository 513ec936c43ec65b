#pragma once
// What one rank of a layout holds, computed from the architecture and its stage and TP shard
// alone (no weights allocated), so a T5-XXL layout is planned instantly on any machine.
//   owned parameters: every frozen tensor counted exactly once over the world's TP × PP grid
//   (the embedding by the first stage, a stack's relative-position bias by the stage holding its
//   block 0, layer norms by TP rank 0); replicas are the copies other ranks need (the embedding
//   for the decoder input or a tied LM head, the bias for later blocks of a stack, layer norms on
//   TP ranks > 0).
// Activation estimate per micro-batch and block (bytes, activation dtype `a`, fp32 scores):
//   encoder  B·S·(2·d + 4·i/tp + g·f/tp)·a + 2·B·(h/tp)·S²·4
//   decoder  B·T·(3·d + 6·i/tp + g·f/tp)·a + 2·B·(h/tp)·(T² + T·S)·4 + B·S·2·i/tp·a
// with i = heads·d_kv, f = d_ff, g = 3 gated / 2 relu (the layer norms keep no fp32 copy of bf16
// input: RMSNorm.h). With the fused attention kernel (CUDA,
// LibTorch >= 2.1) a block keeps no scores, only the softmax's row statistics (B·(h/tp)·S·4 in the
// encoder, 2·B·(h/tp)·T·4 in the decoder), and each stack's bias (positions + mask), shared by
// its blocks, is kept once per micro-batch: B·(h/tp)·S²·a (encoder), (h/tp)·T²·a (decoder).
// Either way, times the micro-batches alive at once
// (1f1b: min(pp − stage, m); gpipe: m). With recomputation a block keeps only its input
// (B·S·d·a, or B·(T+S)·d·a in the decoder) plus one block's full activations. The last stage adds
// the logits and their gradient: 2·B·T·(V/tp)·4.
// Evaluation (no gradient; B = eval_rows, the whole batch on every stage), one phase at a time:
//   encoder  one block's working set: its input and its normed copy 2·B·S·d·a, the stack's bias
//            (positions + padding mask) B·(h/tp)·S²·a, and the larger of attention's q, k, v
//            3·B·S·i/tp·a plus, written out, its scores B·(h/tp)·S²·σ (σ = 2a + 8 below fp32: the
//            scores, an fp32 copy, the fp32 softmax and its cast back; 2a in fp32), and the
//            feed-forward's B·S·φ·f/tp·a (φ = 4 gated: wi_0 x, its gelu, wi_1 x, the product;
//            2 relu) (at pp > 1 evaluation encodes 2·pp row chunks in turn, so the whole
//            batch's working set is an upper bound there);
//   decoder  the encoder output B·S·d·a; each decoder block's cache (DecoderCache): the
//            cross-attention's keys and values of the encoder output 2·B·S·i/tp·a and, when
//            decoding greedily, the self-attention's of the T positions 2·B·T·i/tp·a; one decoder
//            pass over Tq positions (greedy: 1 per token; rank: the whole label, at most T): its
//            feed-forward B·Tq·φ·f/tp·a and, written out, cross-attention scores
//            B·(h/tp)·Tq·(S+T)·σ; on the last stage the logits, greedy: B·V·a gathered over TP
//            plus this rank's B·(V/tp)·a, rank: B·T·(V/tp)·(a + 12) below fp32, 12 in fp32 (the
//            logits, the loss's fp32 copy, its shift by the maximum and the exponential).
//   (`ptuner eval` of N prompts at once evaluates N·B rows.)
// The decoder cache's term is exact (DecoderCacheMpiTest); the rest are working-set estimates.
#include <algorithm>
#include <cstdint>
#include <string>

#include "model_parallel/StageSpec.h"
#include "model_parallel/T5Config.h"

namespace ptuner::mp {

struct PlanInputs {
  int tp = 1, pp = 1, dp = 1;
  int64_t micro_batch = 1, micro_batches = 1;
  int64_t input_tokens = 512, target_tokens = 128;  // input includes the prompt
  int64_t weight_bytes = 4, activation_bytes = 4;
  std::string schedule = "1f1b";
  bool recompute = false;
  bool fused_attention = false;  // the kernel CUDA ranks take under LibTorch >= 2.1
  int64_t eval_rows = 0;         // rows of an evaluation batch (0: the run does not evaluate)
  bool eval_greedy = true;       // greedy decoding (self- and cross-attention cache) or rank scoring
};

// Evaluation's memory on one rank beyond its weights (see the header's comment).
struct EvalPlan {
  int64_t encoder_bytes = 0;  // the encoder phase's working set (0 without encoder blocks)
  int64_t cache_bytes = 0;    // the decoder blocks' key/value caches at the end of decoding
  int64_t decoder_bytes = 0;  // the decoder phase in all: encoder output, caches, one pass, logits
  int64_t bytes() const { return std::max(encoder_bytes, decoder_bytes); }
};

struct RankPlan {
  int world_rank = 0, tp_rank = 0, pp_rank = 0, dp_rank = 0;
  StageSpec stage;
  int64_t owned_parameters = 0;
  int64_t replica_parameters = 0;
  int64_t weight_bytes = 0;      // (owned + replicas) · weight dtype
  int64_t activation_bytes = 0;  // estimate for the schedule's in-flight micro-batches
  EvalPlan eval;                 // zero where PlanInputs::eval_rows is 0
  // Training's activations are freed before an evaluation runs: the larger of the two counts.
  int64_t total_bytes() const { return weight_bytes + std::max(activation_bytes, eval.bytes()); }
};

EvalPlan plan_evaluation(const T5Config& config, const StageSpec& stage, const PlanInputs& in);

RankPlan plan_rank(const T5Config& config, const StageSpec& stage, int tp_rank, int pp_rank, const PlanInputs& in);

}  // namespace ptuner::mp
