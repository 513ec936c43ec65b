#include "model_parallel/T5Block.h"

#include "dist/Check.h"

namespace ptuner::mp {

T5AttentionLayerImpl::T5AttentionLayerImpl(const T5Config& c, dist::Communicator& tp, bool cross)
    : dropout_(c.dropout_rate) {
  attention = register_module(cross ? "EncDecAttention" : "SelfAttention", T5Attention(c, tp));
  layer_norm = register_module("layer_norm", RMSNorm(c.d_model, c.layer_norm_epsilon));
}

torch::Tensor T5AttentionLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& kv,
                                            const torch::Tensor& bias, const KvPrefix* prefix,
                                            AttentionCache* cache) {
  return x + torch::dropout(attention->forward(layer_norm(x), kv, bias, prefix, cache), dropout_, is_training());
}

T5FeedForwardLayerImpl::T5FeedForwardLayerImpl(const T5Config& c, dist::Communicator& tp)
    : dropout_(c.dropout_rate) {
  ffn = register_module("DenseReluDense", T5FeedForward(c, tp));
  layer_norm = register_module("layer_norm", RMSNorm(c.d_model, c.layer_norm_epsilon));
}

torch::Tensor T5FeedForwardLayerImpl::forward(const torch::Tensor& x) {
  return x + torch::dropout(ffn(layer_norm(x)), dropout_, is_training());
}

T5BlockImpl::T5BlockImpl(const T5Config& c, dist::Communicator& tp, bool is_decoder) {
  auto layers = register_module("layer", torch::nn::ModuleList());
  self_ = T5AttentionLayer(c, tp, /*cross=*/false);
  layers->push_back(self_);
  if (is_decoder) {
    cross_ = T5AttentionLayer(c, tp, /*cross=*/true);
    layers->push_back(cross_);
  }
  ff_ = T5FeedForwardLayer(c, tp);
  layers->push_back(ff_);
}

torch::Tensor T5BlockImpl::forward(const torch::Tensor& x, const torch::Tensor& self_bias, const torch::Tensor& enc,
                                   const torch::Tensor& cross_bias, const KvPrefix* self_prefix,
                                   const KvPrefix* cross_prefix, AttentionCache* self_cache,
                                   AttentionCache* cross_cache) {
  auto h = self_->forward(x, torch::Tensor(), self_bias, self_prefix, self_cache);
  if (cross_) h = cross_->forward(h, enc, cross_bias, cross_prefix, cross_cache);
  return ff_(h);
}

std::pair<torch::Tensor, torch::Tensor> T5BlockImpl::project_kv(const torch::Tensor& x, bool cross) {
  PTUNER_CHECK(!cross || cross_, "an encoder block has no cross-attention");
  return cross ? cross_->attention->project_kv(x) : self_->attention->project_kv(self_->layer_norm(x));
}

}  // namespace ptuner::mp
