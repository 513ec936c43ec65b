#pragma once
// One T5 block, pre-norm residual sub-layers, named as HuggingFace names them:
//   layer.0  SelfAttention + layer_norm
//   layer.1  EncDecAttention + layer_norm      (decoder only)
//   layer.1|2 DenseReluDense + layer_norm
#include <torch/torch.h>

#include "dist/Communicator.h"
#include "model_parallel/RMSNorm.h"
#include "model_parallel/T5Attention.h"
#include "model_parallel/T5FeedForward.h"

namespace ptuner::mp {

// Sub-layer holders so that parameter names match HF ("layer.0.SelfAttention.q.weight").
class T5AttentionLayerImpl : public torch::nn::Module {
 public:
  T5AttentionLayerImpl(const T5Config& c, dist::Communicator& tp, bool cross);
  // x + dropout(attention(norm(x)))
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& kv, const torch::Tensor& bias,
                        const KvPrefix* prefix = nullptr, AttentionCache* cache = nullptr);
  T5Attention attention{nullptr};
  RMSNorm layer_norm{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(T5AttentionLayer);

class T5FeedForwardLayerImpl : public torch::nn::Module {
 public:
  T5FeedForwardLayerImpl(const T5Config& c, dist::Communicator& tp);
  torch::Tensor forward(const torch::Tensor& x);  // x + dropout(ffn(norm(x)))
  T5FeedForward ffn{nullptr};
  RMSNorm layer_norm{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(T5FeedForwardLayer);

class T5BlockImpl : public torch::nn::Module {
 public:
  T5BlockImpl(const T5Config& config, dist::Communicator& tp, bool is_decoder);
  // x: [B, S, d]; self_bias: [1|B, heads, S, S] ([.., S, n+S] after n cached positions); for the
  // decoder enc: [B, K, d] (in the TP region: T5StackImpl::forward) and cross_bias: [B, 1, 1, K]; optional key/value prefixes of its self- and cross-attention, and
  // caches of their keys and values while decoding (T5AttentionImpl::forward) -> [B, S, d]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& self_bias, const torch::Tensor& enc = {},
                        const torch::Tensor& cross_bias = {}, const KvPrefix* self_prefix = nullptr,
                        const KvPrefix* cross_prefix = nullptr, AttentionCache* self_cache = nullptr,
                        AttentionCache* cross_cache = nullptr);
  // This TP rank's K and V of rows x [n, d] as the self-attention (after its layer norm) or the
  // cross-attention (x as the encoder output) would compute them: [n, heads/tp · d_kv] each.
  std::pair<torch::Tensor, torch::Tensor> project_kv(const torch::Tensor& x, bool cross);

 private:
  T5AttentionLayer self_{nullptr}, cross_{nullptr};
  T5FeedForwardLayer ff_{nullptr};
};
TORCH_MODULE(T5Block);

}  // namespace ptuner::mp
