#include "model_parallel/ModelFlops.h"

#include <vector>

namespace ptuner::mp {

double forward_flops(const T5Config& c, int64_t batch, int64_t enc_len, int64_t dec_len) {
  const double B = static_cast<double>(batch), S = static_cast<double>(enc_len), T = static_cast<double>(dec_len);
  const double d = static_cast<double>(c.d_model), i = static_cast<double>(c.inner_dim());
  const double f = static_cast<double>(c.d_ff), g = c.gated() ? 3.0 : 2.0, V = static_cast<double>(c.vocab_size);
  const double encoder_block = 2 * B * S * d * i * 4 + 2 * 2 * B * S * S * i + 2 * B * S * d * f * g;
  const double decoder_block = 2 * B * T * d * i * 4 + 2 * 2 * B * T * T * i + 2 * B * T * d * i * 2 +
                               2 * B * S * d * i * 2 + 2 * 2 * B * T * S * i + 2 * B * T * d * f * g;
  return static_cast<double>(c.num_layers) * encoder_block +
         static_cast<double>(c.num_decoder_layers) * decoder_block + 2 * B * T * d * V;
}

double attention_flops(const T5Config& c, int64_t batch, int64_t enc_len, int64_t dec_len) {
  const double B = static_cast<double>(batch), S = static_cast<double>(enc_len), T = static_cast<double>(dec_len);
  const double i = static_cast<double>(c.inner_dim());
  return static_cast<double>(c.num_layers) * 2 * 2 * B * S * S * i +
         static_cast<double>(c.num_decoder_layers) * (2 * 2 * B * T * T * i + 2 * 2 * B * T * S * i);
}

MatmulShape largest_matmul(const T5Config& c, int tp, int64_t batch, int64_t enc_len, int64_t dec_len) {
  const int64_t enc_rows = batch * enc_len, dec_rows = batch * dec_len;
  const std::vector<MatmulShape> candidates = {
      {enc_rows, c.d_model, c.d_ff / tp},       // encoder wi (wi_0, wi_1)
      {enc_rows, c.d_ff / tp, c.d_model},       // encoder wo
      {enc_rows, c.d_model, c.inner_dim() / tp},  // encoder q, k, v; decoder cross k, v
      {dec_rows, c.d_model, c.d_ff / tp},       // decoder wi
      {dec_rows, c.d_model, c.vocab_size / tp},  // LM head
  };
  MatmulShape best;
  for (const auto& s : candidates)
    if (s.flops() > best.flops()) best = s;
  return best;
}

}  // namespace ptuner::mp
