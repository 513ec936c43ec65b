#pragma once
// Matmul FLOPs of the T5 forward (2·m·k·n per [m, k]·[k, n] product; norms, softmax and
// elementwise work are not counted), for B examples of S encoder positions (prompt included)
// and T decoder positions, with i = heads·d_kv, f = d_ff, g = 3 gated / 2 relu matrices:
//   encoder block  2·B·S·d·i·4 + 2·2·B·S²·i             + 2·B·S·d·f·g
//   decoder block  2·B·T·d·i·4 + 2·2·B·T²·i             (self-attention)
//                + 2·B·T·d·i·2 + 2·B·S·d·i·2 + 2·2·B·T·S·i   (cross: q, o on T; k, v on S)
//                + 2·B·T·d·f·g
//   LM head        2·B·T·d·V
// A prompt-tuning step (frozen weights) costs 2 × forward + attention: its backward computes
// only input gradients, one product per weight product, but two per attention product (QKᵀ and
// AV multiply two activations, both needing a gradient).
#include <cstdint>

#include "model_parallel/T5Config.h"

namespace ptuner::mp {

double forward_flops(const T5Config& config, int64_t batch, int64_t enc_len, int64_t dec_len);
// The part of forward_flops() in attention products (QKᵀ and AV: the 2·2·B·… terms above).
double attention_flops(const T5Config& config, int64_t batch, int64_t enc_len, int64_t dec_len);

// The largest single matmul one TP rank runs in that forward: x [m, k] · Wᵀ with W [n, k].
struct MatmulShape {
  int64_t m = 0, k = 0, n = 0;
  double flops() const { return 2.0 * static_cast<double>(m) * static_cast<double>(k) * static_cast<double>(n); }
};
MatmulShape largest_matmul(const T5Config& config, int tp, int64_t batch, int64_t enc_len, int64_t dec_len);

}  // namespace ptuner::mp
