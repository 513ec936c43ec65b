#pragma once
// AdamW (Loshchilov & Hutter), as torch.optim.AdamW: p ← p·(1 − lr·wd), then
// m = β₁m + (1−β₁)g, v = β₂v + (1−β₂)g², p ← p − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε).
#include "train/Optimizer.h"

namespace ptuner::train {

struct AdamWOptions {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 1e-2;
};

class AdamW : public Optimizer {
 public:
  explicit AdamW(const AdamWOptions& options) : options_(options) {}
  std::string name() const override { return "adamw"; }
  using Optimizer::step;
  void step(const std::map<std::string, torch::Tensor>& params,
            const std::map<std::string, ParamRate>& rates) override;
  double weight_decay() const override { return options_.weight_decay; }
  std::map<std::string, torch::Tensor> state() const override;
  void load_state(const std::map<std::string, torch::Tensor>& state) override;

 private:
  AdamWOptions options_;
  std::map<std::string, torch::Tensor> slots_;  // "<param>/m", "<param>/v"
};

}  // namespace ptuner::train
