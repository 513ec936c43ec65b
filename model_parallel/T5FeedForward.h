#pragma once
// T5's feed-forward ("DenseReluDense"), tensor-parallel: wi / wi_0 / wi_1 column-parallel,
// wo row-parallel.
//   relu (v1.0):        wo(dropout(relu(wi·x)))
//   gated-gelu (v1.1):  wo(dropout(gelu_tanh(wi_0·x) ⊙ wi_1·x))
#include <torch/torch.h>

#include "dist/Communicator.h"
#include "model_parallel/FrozenLinear.h"
#include "model_parallel/T5Config.h"

namespace ptuner::mp {

class T5FeedForwardImpl : public torch::nn::Module {
 public:
  T5FeedForwardImpl(const T5Config& config, dist::Communicator& tp);
  // x: [B, S, d_model] -> [B, S, d_model] (hidden [B, S, d_ff/tp])
  torch::Tensor forward(const torch::Tensor& x);

  FrozenLinear wi{nullptr}, wi_0{nullptr}, wi_1{nullptr}, wo{nullptr};

 private:
  dist::Communicator* tp_;
  bool gated_;
  double dropout_;
};
TORCH_MODULE(T5FeedForward);

}  // namespace ptuner::mp
