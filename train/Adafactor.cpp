#include "train/Adafactor.h"

#include <cmath>

#include "dist/Check.h"

namespace ptuner::train {

namespace {

// The two largest dims (second largest, largest) when both are ≥ min size, else none.
std::optional<std::pair<int64_t, int64_t>> factored_dims(const torch::Tensor& p, int64_t min_size) {
  if (p.dim() < 2) return std::nullopt;
  std::vector<int64_t> order(p.dim());
  for (int64_t i = 0; i < p.dim(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p.size(a) < p.size(b); });
  const int64_t d1 = order[order.size() - 2], d0 = order.back();
  if (p.size(d1) < min_size) return std::nullopt;
  return std::make_pair(d1, d0);
}

}  // namespace

void Adafactor::step(const std::map<std::string, torch::Tensor>& params,
                     const std::map<std::string, ParamRate>& rates) {
  torch::NoGradGuard no_grad;
  const double t = static_cast<double>(count_) + 1.0;
  const double decay = 1.0 - std::pow(t, -options_.decay_rate);
  const double mixing = 1.0 - decay;
  for (const auto& [name, p] : params) {
    PTUNER_CHECK(p.grad().defined(), "adafactor: parameter '{}' has no gradient", name);
    PTUNER_CHECK(rates.count(name), "adafactor: parameter '{}' has no learning rate", name);
    const double lr = rates.at(name).lr, weight_decay = rates.at(name).weight_decay;
    auto g = p.grad().to(math_dtype(p));
    auto g2 = g * g + options_.epsilon1;
    torch::Tensor u;
    auto dims = options_.factored ? factored_dims(p, options_.min_dim_size_to_factor) : std::nullopt;
    if (dims) {
      const auto [d1, d0] = *dims;
      auto& v_row = slots_[name + "/v_row"];
      auto& v_col = slots_[name + "/v_col"];
      auto row_mean = g2.mean(d0);  // shape without d0
      auto col_mean = g2.mean(d1);  // shape without d1
      v_row = v_row.defined() ? decay * v_row + mixing * row_mean : mixing * row_mean;
      v_col = v_col.defined() ? decay * v_col + mixing * col_mean : mixing * col_mean;
      const int64_t reduced_d1 = d1 - (d0 < d1 ? 1 : 0);
      auto row_factor = (v_row / v_row.mean(reduced_d1, /*keepdim=*/true)).pow(-0.5);
      auto col_factor = v_col.pow(-0.5);
      u = g * row_factor.unsqueeze(d0) * col_factor.unsqueeze(d1);
    } else {
      auto& v = slots_[name + "/v"];
      v = v.defined() ? decay * v + mixing * g2 : mixing * g2;
      u = g * v.pow(-0.5);
    }
    if (options_.clipping_threshold > 0) {
      auto denom = torch::clamp_min(u.pow(2).mean().sqrt() / options_.clipping_threshold, 1.0);
      u = u / denom;
    }
    auto subtrahend = lr * u;
    if (options_.beta1) {
      auto& m = slots_[name + "/m"];
      const double b1 = *options_.beta1;
      m = m.defined() ? b1 * m + (1.0 - b1) * subtrahend : (1.0 - b1) * subtrahend;
      subtrahend = m;
    }
    auto updated = weight_decay > 0 ? (1.0 - weight_decay) * p - subtrahend : p - subtrahend;
    p.copy_(updated.to(p.scalar_type()));
  }
  ++count_;
}

std::map<std::string, torch::Tensor> Adafactor::state() const {
  auto out = slots_;
  out["step"] = torch::tensor(count_, torch::kLong);
  return out;
}

void Adafactor::load_state(const std::map<std::string, torch::Tensor>& state) {
  auto it = state.find("step");
  PTUNER_CHECK(it != state.end(), "adafactor state has no 'step'");
  count_ = it->second.item<int64_t>();
  slots_.clear();
  for (const auto& [k, v] : state)
    if (k != "step") slots_[k] = v.clone();
}

}  // namespace ptuner::train
