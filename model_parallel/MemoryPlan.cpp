#include "model_parallel/MemoryPlan.h"

#include <algorithm>

namespace ptuner::mp {

EvalPlan plan_evaluation(const T5Config& c, const StageSpec& s, const PlanInputs& in) {
  c.check_settled("plan");
  EvalPlan e;
  if (in.eval_rows <= 0) return e;
  const double B = static_cast<double>(in.eval_rows), S = static_cast<double>(in.input_tokens),
               T = static_cast<double>(in.target_tokens), a = static_cast<double>(in.activation_bytes);
  const double tp = in.tp, d = static_cast<double>(c.d_model), hd = static_cast<double>(c.num_heads / in.tp),
               i_tp = static_cast<double>(c.inner_dim()) / tp, f_tp = static_cast<double>(c.d_ff) / tp,
               v_tp = static_cast<double>(c.vocab_size / in.tp), V = static_cast<double>(c.vocab_size);
  // The feed-forward's [.., d_ff/tp] tensors alive at once: gelu(wi_0 x) · wi_1 x keeps wi_0 x, its
  // gelu, wi_1 x and the product; relu(wi x) keeps wi x and the relu.
  const double ffn_live = c.gated() ? 4.0 : 2.0;
  // Bytes per written-out attention score: the scores and their softmax, in fp32 also a copy of
  // each in and out of fp32 when the activations are narrower.
  const double score = a < 4 ? 2 * a + 8 : 2 * a;
  const bool fused = in.fused_attention;
  if (s.has_encoder()) {
    const double attention = 3 * B * S * i_tp * a + (fused ? 0.0 : B * hd * S * S * score);
    const double ffn = B * S * ffn_live * f_tp * a;
    e.encoder_bytes = static_cast<int64_t>(2 * B * S * d * a + B * hd * S * S * a + std::max(attention, ffn));
  }
  if (s.has_decoder()) {
    const double blocks = static_cast<double>(s.decoder_end - s.decoder_begin);
    const double cache = blocks * 2 * B * (S + (in.eval_greedy ? T : 0.0)) * i_tp * a;
    const double tq = in.eval_greedy ? 1.0 : T;
    const double pass = B * tq * ffn_live * f_tp * a + (fused ? 0.0 : B * hd * tq * (S + T) * score);
    double logits = 0;
    // Greedy: the logits gathered over TP beside this rank's; rank: this rank's, and the loss's
    // fp32 copy, its shift by the maximum and the exponential.
    if (s.last) logits = in.eval_greedy ? B * (V + v_tp) * a : B * T * v_tp * ((a < 4 ? a : 0.0) + 12);
    e.cache_bytes = static_cast<int64_t>(cache);
    e.decoder_bytes = static_cast<int64_t>(B * S * d * a + cache + pass + logits);
  }
  return e;
}

RankPlan plan_rank(const T5Config& c, const StageSpec& s, int tp_rank, int pp_rank, const PlanInputs& in) {
  c.check_settled("plan");
  RankPlan r;
  r.stage = s;
  r.tp_rank = tp_rank;
  r.pp_rank = pp_rank;
  const int64_t tp = in.tp, d = c.d_model, inner = c.inner_dim(), ff = c.d_ff, g = c.gated() ? 3 : 2;
  const int64_t heads = c.num_heads / tp;
  const int64_t attn = 4 * d * inner / tp, ffn = g * d * ff / tp, bias = c.relative_attention_num_buckets * heads;
  const int64_t enc_blocks = s.encoder_end - s.encoder_begin, dec_blocks = s.decoder_end - s.decoder_begin;
  // Layer norms are whole on every TP rank: TP rank 0 owns them, the others hold replicas.
  int64_t norms = enc_blocks * 2 * d + dec_blocks * 3 * d;
  if (s.has_encoder() && s.encoder_end == c.num_layers) norms += d;          // encoder final norm
  if (s.has_decoder() && s.decoder_end == c.num_decoder_layers) norms += d;  // decoder final norm
  int64_t owned = enc_blocks * (attn + ffn) + dec_blocks * (2 * attn + ffn) + (tp_rank == 0 ? norms : 0);
  int64_t replica = tp_rank == 0 ? 0 : norms;
  const int64_t embedding = c.vocab_size / tp * d;
  // Embedding: owned by the first stage; a replica where the decoder starts or a tied head sits.
  if (s.first)
    owned += embedding;
  else if ((s.has_decoder() && s.decoder_begin == 0) || (s.last && c.tie_word_embeddings))
    replica += embedding;
  if (s.last && !c.tie_word_embeddings) owned += embedding;  // untied lm_head
  if (s.has_encoder()) (s.encoder_begin == 0 ? owned : replica) += bias;
  if (s.has_decoder()) (s.decoder_begin == 0 ? owned : replica) += bias;
  r.owned_parameters = owned;
  r.replica_parameters = replica;
  r.weight_bytes = (owned + replica) * in.weight_bytes;

  const double B = static_cast<double>(in.micro_batch), S = static_cast<double>(in.input_tokens),
               T = static_cast<double>(in.target_tokens), a = static_cast<double>(in.activation_bytes);
  const double hd = static_cast<double>(heads), i_tp = static_cast<double>(inner) / tp,
               f_tp = static_cast<double>(g * ff) / tp, dd = static_cast<double>(d);
  const bool fused = in.fused_attention;
  const double enc_attention = fused ? B * hd * S * 4 : 2 * B * hd * S * S * 4;
  const double dec_attention = fused ? 2 * B * hd * T * 4 : 2 * B * hd * (T * T + T * S) * 4;
  // The layer norms keep no fp32 copy of bf16 input (RMSNorm.cpp), only a scale per token.
  const double enc_block = B * S * (2 * dd + 4 * i_tp + f_tp) * a + enc_attention;
  const double dec_block = B * T * (3 * dd + 6 * i_tp + f_tp) * a + dec_attention + B * S * 2 * i_tp * a;
  const double stack_bias =
      fused ? (enc_blocks ? B * hd * S * S * a : 0.0) + (dec_blocks ? hd * T * T * a : 0.0) : 0.0;
  double per_mb;
  if (in.recompute) {
    per_mb = static_cast<double>(enc_blocks) * B * S * dd * a + static_cast<double>(dec_blocks) * B * (T + S) * dd * a;
  } else {
    per_mb = static_cast<double>(enc_blocks) * enc_block + static_cast<double>(dec_blocks) * dec_block;
  }
  per_mb += stack_bias;
  const int64_t alive = in.schedule == "gpipe" ? in.micro_batches
                                                : std::min<int64_t>(in.pp - pp_rank, in.micro_batches);
  double act = per_mb * static_cast<double>(alive);
  if (in.recompute) act += std::max(enc_blocks ? enc_block : 0.0, dec_blocks ? dec_block : 0.0);
  if (s.last) act += 2 * B * T * static_cast<double>(c.vocab_size / tp) * 4;
  r.activation_bytes = static_cast<int64_t>(act);
  r.eval = plan_evaluation(c, s, in);
  return r;
}

}  // namespace ptuner::mp
