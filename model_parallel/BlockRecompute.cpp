#include "model_parallel/BlockRecompute.h"

#include "model_parallel/RngState.h"

namespace ptuner::mp {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

namespace {

torch::Tensor or_none(const torch::Tensor& t) { return t.numel() ? t : torch::Tensor(); }

struct Recompute : torch::autograd::Function<Recompute> {
  // enc and cross_bias may be empty tensors (encoder blocks): they then stand for "none"
  // (autograd functions take no undefined tensors).
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor h, torch::Tensor enc, int64_t block,
                               torch::Tensor self_bias, torch::Tensor cross_bias) {
    ctx->saved_data["block"] = block;
    ctx->saved_data["self_bias"] = self_bias;
    ctx->saved_data["cross_bias"] = cross_bias;
    ctx->saved_data["rng"] = cpu_rng_state();
    ctx->save_for_backward({h, enc});
    auto& b = *reinterpret_cast<T5Block*>(block);
    return b(h, self_bias, or_none(enc), or_none(cross_bias));
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad) {
    auto saved = ctx->get_saved_variables();
    auto& b = *reinterpret_cast<T5Block*>(ctx->saved_data["block"].toInt());
    const bool has_enc = saved[1].numel() > 0;
    auto h = saved[0].detach().requires_grad_(true);
    auto enc = has_enc ? saved[1].detach().requires_grad_(true) : torch::Tensor();
    const auto now = cpu_rng_state();
    set_cpu_rng_state(ctx->saved_data["rng"].toTensor());
    torch::Tensor out;
    {
      torch::AutoGradMode on(true);
      out = b(h, ctx->saved_data["self_bias"].toTensor(), enc, or_none(ctx->saved_data["cross_bias"].toTensor()));
    }
    set_cpu_rng_state(now);
    torch::autograd::backward({out}, {grad[0]});
    return {h.grad(), has_enc ? enc.grad() : torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor recomputed_block(T5Block& block, const torch::Tensor& h, const torch::Tensor& self_bias,
                               const torch::Tensor& enc, const torch::Tensor& cross_bias) {
  auto e = enc.defined() ? enc : torch::empty({0}, h.options());
  auto cb = cross_bias.defined() ? cross_bias : torch::empty({0}, h.options());
  return Recompute::apply(h, e, reinterpret_cast<int64_t>(&block), self_bias, cb);
}

}  // namespace ptuner::mp
