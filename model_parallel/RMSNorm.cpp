#include "model_parallel/RMSNorm.h"

#include "dist/Check.h"

namespace ptuner::mp {

namespace {

bool narrow(torch::ScalarType t) { return t == torch::kBFloat16 || t == torch::kFloat16; }

torch::Tensor inverse_rms(const torch::Tensor& x, double eps) {
  return torch::rsqrt(x.to(torch::kFloat32).pow(2).mean(-1, /*keepdim=*/true) + eps);
}

torch::Tensor normalized(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& r) {
  auto h = x * r;
  if (narrow(weight.scalar_type())) h = h.to(weight.scalar_type());
  return weight * h;
}

// The norm of narrow (bf16/f16) activations with the same forward arithmetic, whose backward
// keeps x as it is and one fp32 scale per row: autograd's graph of the plain expression keeps
// fp32 intermediates, x's fp32 copy (the variance's input) among them: 8·d bytes per token and
// norm as measured (RMSNormTest: 256 MiB beside a 64 MiB bf16 input).
// With h = x·r and r = (mean(x²) + eps)^(-1/2):  dL/dx = r·g − x·r³·mean(g·x), g = dL/dh in fp32.
class NarrowRmsNorm : public torch::autograd::Function<NarrowRmsNorm> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, double eps) {
    auto r = inverse_rms(x, eps);
    ctx->save_for_backward({x, weight, r});
    return normalized(x, weight, r);
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    // r was saved without its link to x: no second derivative through it.
    PTUNER_CHECK(!torch::GradMode::is_enabled(), "rms_norm: bf16 layer norms have no second derivative (create_graph)");
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &weight = saved[1], &r = saved[2];
    // As autograd of the plain expression: the weight's product in the activations' dtype, then
    // the cast's backward to fp32.
    auto g = (grads[0] * weight).to(torch::kFloat32);
    auto xf = x.to(torch::kFloat32);
    auto dx = r * g - xf * r.pow(3) * (g * xf).mean(-1, /*keepdim=*/true);
    return {dx.to(x.scalar_type()), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  // The function where only x's gradient is wanted (frozen weight: every run but the bench's
  // full-finetune baseline); the plain expression otherwise.
  if (narrow(x.scalar_type()) && x.requires_grad() && !weight.requires_grad() && torch::GradMode::is_enabled())
    return NarrowRmsNorm::apply(x, weight, eps);
  return normalized(x, weight, inverse_rms(x, eps));
}

RMSNormImpl::RMSNormImpl(int64_t d_model, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({d_model}), /*requires_grad=*/false);
}

}  // namespace ptuner::mp
