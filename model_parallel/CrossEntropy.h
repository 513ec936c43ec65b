#pragma once
// Token-level cross-entropy (+ optional z-loss) over labels ≠ −100, returned as sums so that
// the caller normalises by the global number of target tokens (the same at any DP size).
//   ce_i = logsumexp(logits_i) − logits_i[label_i];   z_i = z_loss · logsumexp(logits_i)²
// Computed in fp32. Vocabulary-parallel: each TP rank holds the logit columns
// [vocab_begin, vocab_begin + V/tp); the max, Σexp and the label's logit are all-reduced over
// TP, so the full [N, V] logits never exist on one rank.
#include <torch/torch.h>

#include "dist/Communicator.h"

namespace ptuner::mp {

constexpr int64_t kIgnoreIndex = -100;

struct LossSums {
  torch::Tensor total;  // Σ (ce_i + z_i), differentiable scalar (the same on every TP rank)
  torch::Tensor ce;     // Σ ce_i, detached
  torch::Tensor ce_per_row;  // [B]: Σ ce_i over each row's tokens, detached (label scoring)
  torch::Tensor tokens;      // number of labels ≠ −100 (int64 scalar, on the logits' device)
};

// logits: [B, T, V/tp] (this rank's vocabulary slice), labels: [B, T] global ids
LossSums cross_entropy_sums(const torch::Tensor& logits, const torch::Tensor& labels, double z_loss,
                            dist::Communicator& tp, int64_t vocab_begin);
// Unsharded logits [B, T, V].
LossSums cross_entropy_sums(const torch::Tensor& logits, const torch::Tensor& labels, double z_loss);

// Decoder inputs: labels shifted right, decoder_start_token_id first, −100 replaced by pad.
torch::Tensor shift_right(const torch::Tensor& labels, int64_t decoder_start_token_id, int64_t pad_token_id);

}  // namespace ptuner::mp
