#include "model_parallel/RMSNorm.h"

namespace ptuner::mp {

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  auto variance = x.to(torch::kFloat32).pow(2).mean(-1, /*keepdim=*/true);
  auto h = x * torch::rsqrt(variance + eps);
  if (weight.scalar_type() == torch::kBFloat16 || weight.scalar_type() == torch::kFloat16)
    h = h.to(weight.scalar_type());
  return weight * h;
}

RMSNormImpl::RMSNormImpl(int64_t d_model, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({d_model}), /*requires_grad=*/false);
}

}  // namespace ptuner::mp
