#include "model_parallel/FrozenLinear.h"

namespace ptuner::mp {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

namespace {

struct FrozenLinearFunction : torch::autograd::Function<FrozenLinearFunction> {
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor x, torch::Tensor weight) {
    ctx->saved_data["weight"] = weight;  // a reference, not a copy; x is not kept
    return torch::matmul(x, weight.t());
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grad) {
    auto weight = ctx->saved_data["weight"].toTensor();
    return {torch::matmul(grad[0], weight), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor frozen_linear(const torch::Tensor& x, const torch::Tensor& weight) {
  if (weight.requires_grad() || !x.requires_grad() || !torch::GradMode::is_enabled())
    return torch::matmul(x, weight.t());
  return FrozenLinearFunction::apply(x, weight);
}

FrozenLinearImpl::FrozenLinearImpl(const FrozenLinearOptions& o) {
  weight = register_parameter("weight", torch::empty({o.out(), o.in()}), /*requires_grad=*/false);
}

torch::Tensor FrozenLinearImpl::forward(const torch::Tensor& x) { return frozen_linear(x, weight); }

}  // namespace ptuner::mp
