#pragma once
// Cutting the 2·L blocks (encoder then decoder) into pp contiguous pipeline stages.
// Cost model, in multiply-adds per sequence (attention scores ignored): with S input tokens
// (prompt included), T target tokens, f = 3 (gated) or 2 FFN matrices,
//   encoder block  S·(4·d·inner + f·d·d_ff)
//   decoder block  T·(4·d·inner + 2·d·inner + f·d·d_ff) + S·2·d·inner   (self, cross q/o, FFN; cross k/v)
//   LM head        T·V·(d + σ), on the last stage: its matmul and the cross-entropy's passes
//                  over the logits (max, exp, sum, gather, and their backward), σ = kSoftmaxCost
// plus, with a micro-batch of b sequences, the streaming of each weight once per micro-batch:
// κ·P/b per sequence for a part with P weights, κ = kWeightPassCost multiply-adds per weight.
// That term is what makes the decoder (b·T rows per matmul, far fewer than the encoder's b·S)
// and the LM head dearer than their FLOPs when micro-batches are small: t5.1.1-small at pp = 4
// with b = 2 measured its last stage 1.5× the others without it.
// The split minimises the most expensive stage (exact dynamic programme over cut points).
#include <cstdint>
#include <vector>

#include "model_parallel/StageSpec.h"
#include "model_parallel/T5Config.h"

namespace ptuner::mp {

// Multiply-adds one weight costs per micro-batch pass, fitted on this project's CPU runs
// (OpenBLAS fp32; between 25 and 50 there). Accelerators with more FLOPs per byte of
// bandwidth have a larger one; it only moves stage boundaries, never correctness.
constexpr double kWeightPassCost = 32;
// Multiply-adds one logit's cross-entropy forward and backward cost: measured on this project's
// CPU, the cross-entropy over [512, 32128] logits takes as long as the LM head matmul with
// d = 512 (0.195 s against 0.180 s); memory-bound on GPUs as well.
constexpr double kSoftmaxCost = 512;

struct StageCosts {
  double encoder_block = 0, decoder_block = 0, lm_head = 0;
  // micro_batch 0: FLOPs only.
  static StageCosts of(const T5Config& config, int64_t input_tokens, int64_t target_tokens, int64_t micro_batch = 0);
};

// Stages 0..pp−1. `blocks_per_stage` (if not empty) overrides the balancing: pp counts that sum
// to 2·L. Fails, naming the numbers, when pp exceeds the number of blocks or the counts are wrong.
std::vector<StageSpec> split_stages(const T5Config& config, int pp, const StageCosts& costs,
                                    const std::vector<int64_t>& blocks_per_stage = {});

// The estimated cost of a stage under `costs`.
double stage_cost(const StageSpec& stage, const StageCosts& costs);

}  // namespace ptuner::mp
