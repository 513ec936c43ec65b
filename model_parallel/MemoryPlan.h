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
};

struct RankPlan {
  int world_rank = 0, tp_rank = 0, pp_rank = 0, dp_rank = 0;
  StageSpec stage;
  int64_t owned_parameters = 0;
  int64_t replica_parameters = 0;
  int64_t weight_bytes = 0;      // (owned + replicas) · weight dtype
  int64_t activation_bytes = 0;  // estimate for the schedule's in-flight micro-batches
  int64_t total_bytes() const { return weight_bytes + activation_bytes; }
};

RankPlan plan_rank(const T5Config& config, const StageSpec& stage, int tp_rank, int pp_rank, const PlanInputs& in);

}  // namespace ptuner::mp
