#pragma once
// The shared token embedding, vocabulary-parallel: TP rank r holds rows
// [r·V/tp, (r+1)·V/tp). A lookup zeroes ids outside the local range and sums over TP.
#include <torch/torch.h>

#include "dist/Communicator.h"

namespace ptuner::mp {

class VocabEmbeddingImpl : public torch::nn::Module {
 public:
  VocabEmbeddingImpl(int64_t vocab_size, int64_t d_model, dist::Communicator& tp);
  // ids: [B, S] int64 -> [B, S, d_model]
  torch::Tensor forward(const torch::Tensor& ids);
  int64_t vocab_begin() const { return begin_; }
  int64_t vocab_end() const { return begin_ + weight.size(0); }
  torch::Tensor weight;  // [V/tp, d_model], frozen

 private:
  dist::Communicator* tp_;
  int64_t begin_;
};
TORCH_MODULE(VocabEmbedding);

}  // namespace ptuner::mp
