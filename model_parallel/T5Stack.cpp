#include "model_parallel/T5Stack.h"

#include <limits>

#include "dist/Check.h"
#include "model_parallel/BlockRecompute.h"
#include "model_parallel/TensorParallelOps.h"

namespace ptuner::mp {

namespace {
double lowest(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kBFloat16: return -3.3895313892515355e38;
    case torch::kFloat16: return -65504.0;
    case torch::kFloat64: return std::numeric_limits<double>::lowest();
    default: return std::numeric_limits<float>::lowest();
  }
}
}  // namespace

torch::Tensor additive_mask(const torch::Tensor& mask, torch::ScalarType dtype) {
  auto m = mask.to(dtype).unsqueeze(1).unsqueeze(2);  // [B, 1, 1, K]
  return (1.0 - m) * lowest(dtype);
}

torch::Tensor causal_mask(int64_t T, torch::ScalarType dtype, torch::Device device, int64_t past) {
  auto upper = torch::ones({T, past + T}, torch::TensorOptions().dtype(dtype).device(device)).triu(past + 1);
  return (upper * lowest(dtype)).view({1, 1, T, past + T});
}

T5StackImpl::T5StackImpl(const T5Config& c, dist::Communicator& tp, bool is_decoder, int64_t begin, int64_t end)
    : tp_(&tp), is_decoder_(is_decoder), begin_(begin), end_(end),
      total_(is_decoder ? c.num_decoder_layers : c.num_layers), offset_(is_decoder ? c.num_layers : 0),
      dropout_(c.dropout_rate) {
  PTUNER_CHECK(0 <= begin && begin < end && end <= total_, "{} stage blocks [{}, {}) are outside [0, {})",
               is_decoder ? "decoder" : "encoder", begin, end, total_);
  PTUNER_CHECK(c.num_heads % tp.size() == 0, "num_heads {} is not divisible by tp={}", c.num_heads, tp.size());
  relative_attention_bias = register_module(
      "relative_attention_bias",
      RelativePositionBias(RelativePositionBiasOptions(c.relative_attention_num_buckets,
                                                       c.relative_attention_max_distance,
                                                       c.num_heads / tp.size(), !is_decoder)));
  auto container = register_module("block", std::make_shared<torch::nn::Module>());
  for (int64_t i = begin; i < end; ++i) {
    blocks_.push_back(T5Block(c, tp, is_decoder));
    container->register_module(std::to_string(i), blocks_.back());
  }
  if (ends_stack()) final_layer_norm = register_module("final_layer_norm", RMSNorm(c.d_model, c.layer_norm_epsilon));
}

torch::Tensor T5StackImpl::forward(const torch::Tensor& h_in, const torch::Tensor& mask, const torch::Tensor& enc,
                                   const torch::Tensor& enc_mask, const PromptInjection* prompt,
                                   DecoderCache* cache) {
  PTUNER_CHECK(!cache || is_decoder_, "only a decoder keeps a cache");
  PTUNER_CHECK(!cache || !torch::GradMode::is_enabled(), "a decoder cache is for decoding without gradients");
  auto h = begin_ == 0 ? torch::dropout(h_in, dropout_, is_training()) : h_in;
  const int64_t S = h.size(1);
  const auto dtype = h.scalar_type();
  // The new positions come after the cached ones (Incremental decoding), else start at 0.
  const int64_t past = cache ? cache->length() : 0;
  // Position bias is computed once and shared by every block of the stack (as HF does).
  auto self_bias = relative_attention_bias(S, past + S, past).to(dtype);
  torch::Tensor cross_bias, enc_tp;
  if (is_decoder_) {
    self_bias = self_bias + causal_mask(S, dtype, h.device(), past);
    PTUNER_CHECK(enc.defined() && enc_mask.defined(), "decoder stage needs the encoder output and its mask");
    cross_bias = additive_mask(enc_mask, dtype);
    // Every block's cross-attention projects enc with its own column-parallel k and v: each rank's
    // gradient for enc is a partial sum over its heads, summed here over the blocks and then over
    // TP by this one copy_to_tp (one all-reduce of [B, K, d] per stage, not one per block).
    enc_tp = copy_to_tp(enc, *tp_);
  } else if (mask.defined()) {
    self_bias = self_bias + additive_mask(mask, dtype);
  }
  const bool recompute = recompute_ && torch::GradMode::is_enabled() &&
                         (h.requires_grad() || (enc.defined() && enc.requires_grad()) ||
                          (prompt && prompt->kv_requires_grad()));
  // A prefix's score bias with a row per decoder position, when decoding incrementally: the rows
  // of the new positions.
  KvPrefix self_rows, cross_rows;
  auto rows = [&](const KvPrefix* kp, KvPrefix& holder) -> const KvPrefix* {
    if (!kp || !(cache && cache->incremental()) || !kp->bias.defined() || kp->bias.size(2) == 1)
      return kp;
    PTUNER_CHECK(kp->bias.size(2) >= past + S, "a prefix score bias of {} rows cannot serve decoder position {}",
                 kp->bias.size(2), past + S - 1);
    holder = KvPrefix(kp->key, kp->value, kp->bias.narrow(2, past, S));
    return &holder;
  };
  for (size_t i = 0; i < blocks_.size(); ++i) {
    const int64_t g = global_block(begin_ + static_cast<int64_t>(i));
    const KvPrefix* sp = rows(prompt ? prompt->self_prefix(g) : nullptr, self_rows);
    const KvPrefix* cp = rows(prompt && is_decoder_ ? prompt->cross_prefix(g) : nullptr, cross_rows);
    AttentionCache* self_cache = cache && cache->incremental() ? &cache->self[g] : nullptr;
    AttentionCache* cross_cache = cache ? &cache->cross[g] : nullptr;
    h = recompute ? recomputed_block(blocks_[i], h, self_bias, enc_tp, cross_bias, sp, cp)
                  : blocks_[i]->forward(h, self_bias, enc_tp, cross_bias, sp, cp, self_cache, cross_cache);
  }
  if (ends_stack()) h = torch::dropout(final_layer_norm(h), dropout_, is_training());
  return h;
}

std::pair<torch::Tensor, torch::Tensor> T5StackImpl::project_kv(int64_t g, const torch::Tensor& x, bool cross) {
  const int64_t i = g - offset_ - begin_;
  PTUNER_CHECK(0 <= i && i < static_cast<int64_t>(blocks_.size()), "block {} is not on this stage", g);
  return blocks_[static_cast<size_t>(i)]->project_kv(x, cross);
}

}  // namespace ptuner::mp
