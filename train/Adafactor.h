#pragma once
// Adafactor as in T5X (used by Lester et al.), without momentum and without parameter scaling
// by default. For step t = 0, 1, … (count of updates already taken):
//   β₂ₜ = 1 − (t + 1)^(−decay_rate)
//   g² + ε₁ -> v = β₂ₜ·v + (1 − β₂ₜ)·(g² + ε₁)          (unfactored)
//   factored (two largest dims ≥ min_dim_size_to_factor): row/column means of g² + ε₁,
//   v̂ = (v_row / mean(v_row)) ⊗ v_col
//   u = g / √v̂;  u /= max(1, rms(u) / clipping_threshold)
//   with β₁: m = β₁·m + (1 − β₁)·lr·u, subtrahend = m; else subtrahend = lr·u
//   p ← (1 − weight_decay)·p − subtrahend
#include <optional>

#include "train/Optimizer.h"

namespace ptuner::train {

struct AdafactorOptions {
  double decay_rate = 0.8;
  double clipping_threshold = 1.0;
  double weight_decay = 1e-5;
  double epsilon1 = 1e-30;
  bool factored = false;
  int64_t min_dim_size_to_factor = 128;
  std::optional<double> beta1;
};

class Adafactor : public Optimizer {
 public:
  explicit Adafactor(const AdafactorOptions& options) : options_(options) {}
  std::string name() const override { return "adafactor"; }
  using Optimizer::step;
  void step(const std::map<std::string, torch::Tensor>& params,
            const std::map<std::string, ParamRate>& rates) override;
  double weight_decay() const override { return options_.weight_decay; }
  std::map<std::string, torch::Tensor> state() const override;
  void load_state(const std::map<std::string, torch::Tensor>& state) override;

 private:
  AdafactorOptions options_;
  std::map<std::string, torch::Tensor> slots_;  // "<param>/v", "/v_row", "/v_col", "/m"
};

}  // namespace ptuner::train
