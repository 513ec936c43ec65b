#pragma once
// A linear layer whose weight is frozen: y = x·Wᵀ, and backward computes only grad_x = grad_y·W.
// The autograd node keeps a reference to W and nothing else: the input x is not saved, which
// is the activation memory a trainable linear layer would keep for its weight gradient.
#include <torch/torch.h>

namespace ptuner::mp {

// x: [..., in] · W: [out, in] -> [..., out]
torch::Tensor frozen_linear(const torch::Tensor& x, const torch::Tensor& weight);

struct FrozenLinearOptions {
  FrozenLinearOptions(int64_t in, int64_t out) : in_(in), out_(out) {}
  TORCH_ARG(int64_t, in);
  TORCH_ARG(int64_t, out);
};

class FrozenLinearImpl : public torch::nn::Module {
 public:
  explicit FrozenLinearImpl(const FrozenLinearOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;  // [out, in], requires_grad = false
};
TORCH_MODULE(FrozenLinear);

}  // namespace ptuner::mp
