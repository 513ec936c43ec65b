#pragma once
// A trainable prompt method: owns the trainable parameters (fp32 masters) and turns them into
// what the frozen model injects. Methods: SoftPrompt (Lester); later residual and deep prompts.
#include <torch/torch.h>

#include <map>
#include <string>

#include "model_parallel/PromptInjection.h"

namespace ptuner::train {

class PromptMethod : public torch::nn::Module {
 public:
  virtual std::string method() const = 0;
  virtual mp::PromptInjection injection() = 0;

  // Copies saved values into every trainable parameter; `source` (a checkpoint path) names
  // what is missing or mis-shaped.
  void load_parameters(const std::map<std::string, torch::Tensor>& values, const std::string& source);
};

}  // namespace ptuner::train
