#pragma once
// T5's layer norm: y = w ⊙ x / sqrt(mean(x², last dim) + eps), no mean subtraction, no bias.
// The variance is computed in fp32 whatever the activation dtype; the result is cast to the
// weight's dtype when that is bf16/f16 (as HuggingFace's T5LayerNorm does). For bf16/f16
// activations the same arithmetic runs as one autograd function whose backward keeps the input
// as it is and one fp32 scale per row, not the fp32 intermediates autograd would keep (8·d bytes
// per token and norm, measured);
// fp32 activations take the plain expression, whose values and gradients are unchanged.
#include <torch/torch.h>

namespace ptuner::mp {

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps);

class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t d_model, double eps);
  torch::Tensor forward(const torch::Tensor& x) { return rms_norm(x, weight, eps_); }
  torch::Tensor weight;  // [d_model], frozen

 private:
  double eps_;
};
TORCH_MODULE(RMSNorm);

}  // namespace ptuner::mp
