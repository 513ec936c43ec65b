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
//   - A parameter every stage holds (a reparameterisation MLP feeding every stage's prefixes) is
//     pp_shared: each stage's gradient covers its own blocks' use, and the trainer sums it over
//     the pipeline. The stages' copies stay equal; checkpoints hold it once.
//   - Each parameter has its optimizer group's rate (rate(): peak learning rate, weight decay).
//   - Checkpoints hold global_shapes' tensors, gathered from the stages, with method() and
//     hyper_parameters(); loading checks all three and keeps this stage's tensors.
//   - plain(): the trained prompt with its reparameterisation folded away, as the parameters of
//     a plain method (ptuner prompt export).
// Adding a method: one class, one line in the registry (PromptMethod.cpp) or a call to
// register_prompt_method, and its config keys.
#include <nlohmann/json.hpp>
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
#include "train/Optimizer.h"

namespace ptuner::train {

struct RunConfig;

// Where a method's instance lives: this rank's stage and TP position.
struct PromptPlace {
  int64_t first_block = 0, end_block = 0;  // global blocks [first, end) of this stage
  bool holds_embedding = true;             // the first stage: the encoder prefix goes in here
  int tp_rank = 0, tp_size = 1;
  torch::Device device = torch::kCPU;
};

// A trained prompt without reparameterisation: the config overrides (`--set` syntax) that turn
// the run's config into the plain method's, and that method's parameters at global names.
struct PlainPrompt {
  std::vector<std::string> overrides;
  std::map<std::string, torch::Tensor> params;
};

class PromptMethod : public torch::nn::Module {
 public:
  virtual std::string method() const = 0;
  // What gives the parameters their meaning (length, bottleneck, placement, …): a checkpoint
  // loads only into a method with the same. Optimisation settings (rates, dropout) are not here.
  virtual nlohmann::json hyper_parameters() const = 0;
  // Encoder prefix rows of every micro-batch (0 for a method with key/value prefixes only).
  virtual int64_t prefix_length() const = 0;
  // This stage's injection for micro-batch mb.
  virtual mp::PromptInjection injection(const mp::MicroBatch& mb) = 0;
  // Every trainable tensor of the method over all stages: global name (a parameter name: no '.'
  // or '/') -> shape.
  virtual std::map<std::string, std::vector<int64_t>> global_shapes() const = 0;
  // Whether parameter `name`'s gradient on a TP rank covers only that rank's heads.
  virtual bool tp_partial(const std::string& name) const { return false; }
  // Whether parameter `name` is held by every stage, its gradient there covering that stage's use.
  virtual bool pp_shared(const std::string& name) const { return false; }
  // Peak learning rate and weight decay of parameter `name` (default: optim.lr, optim.weight_decay).
  virtual ParamRate rate(const std::string& name) const { return base_rate_; }
  // The plain form (see PlainPrompt); a method without reparameterisation is its own. Needs every
  // stage's parameters: a single-rank instance.
  virtual PlainPrompt plain() const;

  // Refuses a saved prompt of another method or other hyper-parameters (hyper: JSON, may be
  // empty for files written before they were recorded); `source` names the file.
  void check_saved(const std::string& saved_method, const std::string& saved_hyper, const std::string& source) const;
  // Copies saved values (a checkpoint's, at global names) into this rank's parameters;
  // `source` names the file in errors: a missing, unknown or mis-shaped tensor.
  void load_parameters(const std::map<std::string, torch::Tensor>& values, const std::string& source);

  void set_base_rate(const ParamRate& r) { base_rate_ = r; }

 protected:
  ParamRate base_rate_;
};

// What a method's factory gets. With initialise = false (ptuner plan, export) the parameters
// stay zero and none of tokenizer, embed, share_rows, project_kv is set.
struct PromptMethodArgs {
  const RunConfig& config;
  const mp::T5Config& model;
  PromptPlace place;
  const data::Tokenizer* tokenizer = nullptr;
  bool initialise = true;
  // Token ids [n] -> their frozen embedding rows [n, d_model] (fp32, CPU); set where
  // place.holds_embedding.
  std::function<torch::Tensor(const torch::Tensor&)> embed;
  // Collective over the pipeline: the first stage's rows [n, d_model] (fp32, CPU) on every stage;
  // the other stages pass a tensor of the same shape.
  std::function<torch::Tensor(const torch::Tensor&)> share_rows;
  // Global block g (of this stage): its self- (cross = false) or cross-attention K and V of rows
  // x [n, d_model], every head (gathered over TP): [n, heads·d_kv] each, fp32, CPU.
  std::function<std::pair<torch::Tensor, torch::Tensor>(int64_t g, const torch::Tensor& x, bool cross)> project_kv;
};

using PromptMethodFactory = std::function<std::shared_ptr<PromptMethod>(const PromptMethodArgs&)>;

// The method config.prompt.method names; an unknown name lists the known ones.
std::shared_ptr<PromptMethod> make_prompt_method(const PromptMethodArgs& args);
// The same refusal of an unknown name, without making anything (before loading a model).
void check_prompt_method(const RunConfig& config);
// A second optimizer group's rate: lr (> 0, else optim.lr) and weight_decay (≥ 0, else
// optim.weight_decay), as prompt.residual.* and prompt.deep.* give them.
ParamRate group_rate(const RunConfig& config, double lr, double weight_decay);

// Encoder input rows a config's method prepends (prompt.length, or 0 for a method with only
// key/value prefixes): data.max_input_length less these is the text's share.
int64_t encoder_prefix_rows(const RunConfig& config);
// Adds (or replaces) a method under `name`; encoder_rows: its encoder_prefix_rows (default
// prompt.length).
void register_prompt_method(const std::string& name, PromptMethodFactory factory,
                            std::function<int64_t(const RunConfig&)> encoder_rows = {});
std::vector<std::string> prompt_method_names();
// A method name under today's name: "prompt-tuning" (the shallow method's name before residual
// and deep existed, in older configs and checkpoints) is "shallow".
std::string canonical_method_name(const std::string& saved);

}  // namespace ptuner::train
