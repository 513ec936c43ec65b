#pragma once
// Optimizers for the (small, replicated) trainable prompt state. State is named so that it can
// be written to and read from checkpoints exactly.
#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>

namespace ptuner::train {

struct OptimConfig;

// The precision optimizer arithmetic runs in: fp32, or fp64 for fp64 parameters.
inline torch::ScalarType math_dtype(const torch::Tensor& p) {
  return p.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
}

// One parameter's learning rate and weight decay for a step (optimizer groups: a prompt and its
// reparameterisation MLP train at different rates).
struct ParamRate {
  double lr = 0;
  double weight_decay = 0;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;
  // One update of every parameter from its .grad(), each at its rate (rates holds every name).
  virtual void step(const std::map<std::string, torch::Tensor>& params,
                    const std::map<std::string, ParamRate>& rates) = 0;
  // ... every parameter at learning rate lr and the configured weight decay.
  void step(const std::map<std::string, torch::Tensor>& params, double lr) {
    std::map<std::string, ParamRate> rates;
    for (const auto& [name, p] : params) rates[name] = {lr, weight_decay()};
    step(params, rates);
  }
  // The weight decay the optimizer was configured with.
  virtual double weight_decay() const = 0;
  // "<param>/<slot>" -> tensor, plus "step".
  virtual std::map<std::string, torch::Tensor> state() const = 0;
  virtual void load_state(const std::map<std::string, torch::Tensor>& state) = 0;
  int64_t steps_taken() const { return count_; }

 protected:
  int64_t count_ = 0;
};

}  // namespace ptuner::train
