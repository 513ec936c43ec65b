#include "train/AdamW.h"

#include <cmath>

#include "dist/Check.h"

namespace ptuner::train {

void AdamW::step(const std::map<std::string, torch::Tensor>& params, const std::map<std::string, ParamRate>& rates) {
  torch::NoGradGuard no_grad;
  const double t = static_cast<double>(count_ + 1);
  const double bc1 = 1.0 - std::pow(options_.beta1, t), bc2 = 1.0 - std::pow(options_.beta2, t);
  for (const auto& [name, p] : params) {
    PTUNER_CHECK(p.grad().defined(), "adamw: parameter '{}' has no gradient", name);
    PTUNER_CHECK(rates.count(name), "adamw: parameter '{}' has no learning rate", name);
    const double lr = rates.at(name).lr, weight_decay = rates.at(name).weight_decay;
    auto g = p.grad().to(math_dtype(p));
    auto& m = slots_[name + "/m"];
    auto& v = slots_[name + "/v"];
    if (!m.defined()) m = torch::zeros_like(g), v = torch::zeros_like(g);
    p.mul_(1.0 - lr * weight_decay);
    m.mul_(options_.beta1).add_(g, 1.0 - options_.beta1);
    v.mul_(options_.beta2).addcmul_(g, g, 1.0 - options_.beta2);
    auto denom = (v / bc2).sqrt() + options_.eps;
    p.sub_((lr / bc1) * m / denom);
  }
  ++count_;
}

std::map<std::string, torch::Tensor> AdamW::state() const {
  auto out = slots_;
  out["step"] = torch::tensor(count_, torch::kLong);
  return out;
}

void AdamW::load_state(const std::map<std::string, torch::Tensor>& state) {
  auto it = state.find("step");
  PTUNER_CHECK(it != state.end(), "adamw state has no 'step'");
  count_ = it->second.item<int64_t>();
  slots_.clear();
  for (const auto& [k, v] : state)
    if (k != "step") slots_[k] = v.clone();
}

}  // namespace ptuner::train
