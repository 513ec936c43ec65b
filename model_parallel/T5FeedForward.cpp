#include "model_parallel/T5FeedForward.h"

#include "dist/Check.h"
#include "model_parallel/TensorParallelOps.h"

namespace ptuner::mp {

T5FeedForwardImpl::T5FeedForwardImpl(const T5Config& c, dist::Communicator& tp)
    : tp_(&tp), gated_(c.gated()), dropout_(c.dropout_rate) {
  PTUNER_CHECK(c.d_ff % tp.size() == 0, "d_ff {} is not divisible by tp={}", c.d_ff, tp.size());
  const int64_t ff = c.d_ff / tp.size();
  if (gated_) {
    wi_0 = register_module("wi_0", FrozenLinear(FrozenLinearOptions(c.d_model, ff)));
    wi_1 = register_module("wi_1", FrozenLinear(FrozenLinearOptions(c.d_model, ff)));
  } else {
    wi = register_module("wi", FrozenLinear(FrozenLinearOptions(c.d_model, ff)));
  }
  wo = register_module("wo", FrozenLinear(FrozenLinearOptions(ff, c.d_model)));
}

torch::Tensor T5FeedForwardImpl::forward(const torch::Tensor& x) {
  auto xin = copy_to_tp(x, *tp_);
  torch::Tensor h;
  if (gated_)
    h = torch::gelu(wi_0(xin), "tanh") * wi_1(xin);
  else
    h = torch::relu(wi(xin));
  h = torch::dropout(h, dropout_, is_training());
  return reduce_from_tp(wo(h), *tp_);
}

}  // namespace ptuner::mp
