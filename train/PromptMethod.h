#pragma once
// The prompt seam, train side. A prompt method (shallow, residual, deep, …) is a trainable
// module made by name from the config (prompt.method), one instance per rank. What it promises:
//   - It knows the whole method (global_shapes: every trainable tensor at its global,
//     layout-independent name and shape) but holds, as its registered parameters, only those
//     of this rank's pipeline stage (fp32 masters, replicated over TP and DP, on this rank's device).
//     A stage that owns none is normal.
//   - For one micro-batch it returns this stage's PromptInjection: the encoder prefix (per row
//     when rows carry different prompts, MicroBatch::prompt_ids) on the stage holding the
//     embedding, and the key/value prefixes of this stage's blocks, split by heads for this TP
//     rank. prefix_length() is known on every stage (boundary shapes).
//   - A parameter whose gradient on a TP rank covers only that rank's heads is tp_partial: the
//     trainer sums its gradient over TP, then every parameter's over DP, on every stage, and
//     steps every stage's parameters.
//   - Checkpoints hold global_shapes' tensors, gathered from the stages; loading checks the
//     names and shapes and keeps this stage's.
// Adding a method: one class, one line in the registry (PromptMethods.cpp) or a call to
// register_prompt_method, and its config keys.
#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "data/Tokenizer.h"
#include "model_parallel/PipelineStage.h"
#include "model_parallel/PromptInjection.h"
#include "model_parallel/T5Config.h"

namespace ptuner::train {

struct RunConfig;

// Where a method's instance lives: this rank's stage and TP position.
struct PromptPlace {
  int64_t first_block = 0, end_block = 0;  // global blocks [first, end) of this stage
  bool holds_embedding = true;             // the first stage: the encoder prefix goes in here
  int tp_rank = 0, tp_size = 1;
  torch::Device device = torch::kCPU;
};

class PromptMethod : public torch::nn::Module {
 public:
  virtual std::string method() const = 0;
  // Encoder prefix rows of every micro-batch (0 for a method with key/value prefixes only).
  virtual int64_t prefix_length() const = 0;
  // This stage's injection for micro-batch mb.
  virtual mp::PromptInjection injection(const mp::MicroBatch& mb) = 0;
  // Every trainable tensor of the method over all stages: global name (a parameter name: no '.'
  // or '/') -> shape.
  virtual std::map<std::string, std::vector<int64_t>> global_shapes() const = 0;
  // Whether parameter `name`'s gradient on a TP rank covers only that rank's heads.
  virtual bool tp_partial(const std::string& name) const { return false; }

  // Copies saved values (a checkpoint's, at global names) into this rank's parameters;
  // `source` names the file in errors: a missing, unknown or mis-shaped tensor.
  void load_parameters(const std::map<std::string, torch::Tensor>& values, const std::string& source);
};

// What a method's factory gets.
struct PromptMethodArgs {
  const RunConfig& config;
  const mp::T5Config& model;
  PromptPlace place;
  const data::Tokenizer& tokenizer;
  // Token ids [n] -> their frozen embedding rows [n, d_model]; set where place.holds_embedding.
  std::function<torch::Tensor(const torch::Tensor&)> embed;
};

using PromptMethodFactory = std::function<std::shared_ptr<PromptMethod>(const PromptMethodArgs&)>;

// The method config.prompt.method names; an unknown name lists the known ones.
std::shared_ptr<PromptMethod> make_prompt_method(const PromptMethodArgs& args);
// The same refusal of an unknown name, without making anything (before loading a model).
void check_prompt_method(const RunConfig& config);
// Adds (or replaces) a method under `name`.
void register_prompt_method(const std::string& name, PromptMethodFactory factory);
std::vector<std::string> prompt_method_names();

}  // namespace ptuner::train
