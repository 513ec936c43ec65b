#pragma once
// The blocks of one stack (encoder or decoder) that a stage holds, with the stack's relative
// position bias (HF keeps it in block 0; every stage holding blocks of the stack needs it) and,
// on the stage holding the stack's last block, the final layer norm.
#include <torch/torch.h>

#include <vector>

#include "model_parallel/DecoderCache.h"
#include "model_parallel/PromptInjection.h"
#include "model_parallel/RMSNorm.h"
#include "model_parallel/RelativePositionBias.h"
#include "model_parallel/T5Block.h"

namespace ptuner::mp {

class T5StackImpl : public torch::nn::Module {
 public:
  // Blocks [begin, end) of a stack of `total` blocks.
  T5StackImpl(const T5Config& config, dist::Communicator& tp, bool is_decoder, int64_t begin, int64_t end);

  // h: [B, S, d] (embeddings when begin == 0); mask: [B, S] 1 = real token (encoder self-attention
  // mask; unused by the causal decoder); enc, enc_mask: [B, K, d], [B, K] for the decoder. The
  // stack enters enc into the TP region once (copy_to_tp) for all its blocks' cross-attention:
  // their gradients for it are summed on each rank and all-reduced over TP once per stage.
  // prompt (optional): the key/value prefixes of this stage's blocks, by global block index.
  // cache (decoder, no gradient; DecoderCache): in Incremental mode h holds only the positions
  // after the cache's length, which grows by them; in CrossOnly mode h starts at position 0 and
  // only the cross-attention's keys and values are reused.
  // -> [B, S, d] (normed and dropped out when this stage ends the stack)
  torch::Tensor forward(const torch::Tensor& h, const torch::Tensor& mask, const torch::Tensor& enc = {},
                        const torch::Tensor& enc_mask = {}, const PromptInjection* prompt = nullptr,
                        DecoderCache* cache = nullptr);

  bool ends_stack() const { return end_ == total_; }
  // Recompute each block's activations in backward instead of keeping them (training only).
  void set_recompute(bool on) { recompute_ = on; }
  int64_t begin() const { return begin_; }
  int64_t end() const { return end_; }
  // Global index (encoder 0..L−1, decoder L..) of this stack's block i.
  int64_t global_block(int64_t i) const { return offset_ + i; }
  // Global block g of this stage (T5BlockImpl::project_kv).
  std::pair<torch::Tensor, torch::Tensor> project_kv(int64_t g, const torch::Tensor& x, bool cross);

  RelativePositionBias relative_attention_bias{nullptr};
  RMSNorm final_layer_norm{nullptr};

 private:
  std::vector<T5Block> blocks_;
  dist::Communicator* tp_;
  bool is_decoder_;
  int64_t begin_, end_, total_, offset_;
  double dropout_;
  bool recompute_ = false;
};
TORCH_MODULE(T5Stack);

// mask [B, K] of 1/0 -> additive [B, 1, 1, K] with 0 / finfo(dtype).min.
torch::Tensor additive_mask(const torch::Tensor& mask, torch::ScalarType dtype);
// Causal additive mask [1, 1, T, past+T] of T queries after `past` earlier positions: finfo(dtype).min
// where the key comes after the query.
torch::Tensor causal_mask(int64_t T, torch::ScalarType dtype, torch::Device device, int64_t past = 0);

}  // namespace ptuner::mp
