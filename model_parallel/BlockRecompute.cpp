#include "model_parallel/BlockRecompute.h"

#include "model_parallel/RngState.h"

namespace ptuner::mp {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

namespace {

torch::Tensor or_none(const torch::Tensor& t) { return t.numel() ? t : torch::Tensor(); }

// Autograd functions take no undefined tensors: an empty tensor stands for "none".
torch::Tensor or_empty(const torch::Tensor& t, const torch::Tensor& like) {
  return t.defined() ? t : torch::empty({0}, like.options());
}

// Inputs that carry gradients, in this order: h, enc, self key, self value, cross key, cross value.
constexpr size_t kInputs = 6;

// The prefixes' score biases (no gradient) travel beside them: [self, cross], empty for none.
torch::Tensor run_block(T5Block& b, const tensor_list& in, const torch::Tensor& self_bias,
                        const torch::Tensor& cross_bias, const tensor_list& prefix_bias) {
  KvPrefix self_kv{or_none(in[2]), or_none(in[3]), or_none(prefix_bias[0])},
      cross_kv{or_none(in[4]), or_none(in[5]), or_none(prefix_bias[1])};
  return b->forward(in[0], self_bias, or_none(in[1]), or_none(cross_bias), self_kv.key.defined() ? &self_kv : nullptr,
                    cross_kv.key.defined() ? &cross_kv : nullptr);
}

struct Recompute : torch::autograd::Function<Recompute> {
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor h, torch::Tensor enc, torch::Tensor sk,
                               torch::Tensor sv, torch::Tensor ck, torch::Tensor cv, int64_t block,
                               torch::Tensor self_bias, torch::Tensor cross_bias, torch::Tensor self_prefix_bias,
                               torch::Tensor cross_prefix_bias) {
    const auto rng = GeneratorStates::capture(h.device());
    ctx->saved_data["block"] = block;
    ctx->saved_data["self_bias"] = self_bias;
    ctx->saved_data["cross_bias"] = cross_bias;
    ctx->saved_data["self_prefix_bias"] = self_prefix_bias;
    ctx->saved_data["cross_prefix_bias"] = cross_prefix_bias;
    ctx->saved_data["rng_cpu"] = rng.cpu;
    if (rng.accelerator.defined()) ctx->saved_data["rng_device"] = rng.accelerator;
    ctx->save_for_backward({h, enc, sk, sv, ck, cv});
    return run_block(*reinterpret_cast<T5Block*>(block), {h, enc, sk, sv, ck, cv}, self_bias, cross_bias,
                     {self_prefix_bias, cross_prefix_bias});
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad) {
    auto saved = ctx->get_saved_variables();
    auto& b = *reinterpret_cast<T5Block*>(ctx->saved_data["block"].toInt());
    tensor_list in;
    for (size_t i = 0; i < kInputs; ++i)
      in.push_back(saved[i].numel() ? saved[i].detach().requires_grad_(true) : saved[i]);
    GeneratorStates replay;
    replay.device = saved[0].device();
    replay.cpu = ctx->saved_data["rng_cpu"].toTensor();
    if (ctx->saved_data.count("rng_device")) replay.accelerator = ctx->saved_data["rng_device"].toTensor();
    const auto now = GeneratorStates::capture(replay.device);
    replay.restore();
    torch::Tensor out;
    {
      torch::AutoGradMode on(true);
      out = run_block(b, in, ctx->saved_data["self_bias"].toTensor(), ctx->saved_data["cross_bias"].toTensor(),
                      {ctx->saved_data["self_prefix_bias"].toTensor(), ctx->saved_data["cross_prefix_bias"].toTensor()});
    }
    now.restore();
    torch::autograd::backward({out}, {grad[0]});
    tensor_list grads;
    for (size_t i = 0; i < kInputs; ++i) grads.push_back(in[i].numel() ? in[i].grad() : torch::Tensor());
    grads.resize(kInputs + 5);  // block, self_bias, cross_bias and the prefix biases: none
    return grads;
  }
};

}  // namespace

torch::Tensor recomputed_block(T5Block& block, const torch::Tensor& h, const torch::Tensor& self_bias,
                               const torch::Tensor& enc, const torch::Tensor& cross_bias, const KvPrefix* self_prefix,
                               const KvPrefix* cross_prefix) {
  const torch::Tensor none;
  return Recompute::apply(h, or_empty(enc, h), or_empty(self_prefix ? self_prefix->key : none, h),
                          or_empty(self_prefix ? self_prefix->value : none, h),
                          or_empty(cross_prefix ? cross_prefix->key : none, h),
                          or_empty(cross_prefix ? cross_prefix->value : none, h), reinterpret_cast<int64_t>(&block),
                          self_bias, or_empty(cross_bias, h), or_empty(self_prefix ? self_prefix->bias : none, h),
                          or_empty(cross_prefix ? cross_prefix->bias : none, h));
}

}  // namespace ptuner::mp
