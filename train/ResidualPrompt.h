#pragma once
// Residual prompt tuning (Razdaibiedina et al., 2023): the soft prompt P ∈ R^{p×d} reaches the
// encoder reparameterised as
//   P' = LN(W_up · dropout(act(W_down · P + b_down)) + b_up) + P
// row by row, one MLP for every token (shared, the paper's default) or one per token. LN is a
// LayerNorm over d with its own weight and bias (eps 1e-5); without layer_norm it is the identity.
// P and the MLP train together, P at optim.lr and the MLP at prompt.residual.lr (optimizer groups);
// after training plain() folds the MLP away: P' is an ordinary shallow prompt (ptuner prompt
// export). Like the shallow prompt, only the stage holding the embedding owns anything.
// Parameters (global names; shared: no leading [p]):
//   embedding [p, d]   down_weight [p?, h, d]  down_bias [p?, h]  up_weight [p?, d, h]  up_bias [p?, d]
//   ln_weight [p?, d]  ln_bias [p?, d]                                          (layer_norm only)
// Initialisation: P as prompt.init; the linear layers as torch.nn.Linear (U(±1/√fan_in)), the LN
// as (1, 0); for prompt.init = "file" (SPoT transfer) the up projection starts at zero, so that
// P' is the source prompt itself.
#include "train/PromptMethod.h"

namespace ptuner::train {

struct ResidualOptions {
  int64_t length = 100, d_model = 0, bottleneck = 400;
  std::string activation = "relu";  // relu | gelu | tanh
  bool layer_norm = true, shared = true;
  double dropout = 0;
};

class ResidualPrompt : public PromptMethod {
 public:
  ResidualPrompt(const ResidualOptions& options, bool owner, const ParamRate& mlp_rate);
  std::string method() const override { return "residual"; }
  nlohmann::json hyper_parameters() const override;
  int64_t prefix_length() const override { return o_.length; }
  mp::PromptInjection injection(const mp::MicroBatch& mb) override;
  std::map<std::string, std::vector<int64_t>> global_shapes() const override;
  ParamRate rate(const std::string& name) const override { return name == "embedding" ? base_rate_ : mlp_rate_; }
  PlainPrompt plain() const override;

  // P' [p, d] (dropout when the module is training); owner only.
  torch::Tensor projected() const;
  // Fills P (initial rows) and the MLP (from `seed`).
  void initialise(const torch::Tensor& rows, uint64_t seed);
  // W_up = 0, b_up = 0: P' = P (a transferred prompt starts as itself; the MLP still trains).
  void zero_up_projection();

 private:
  ResidualOptions o_;
  ParamRate mlp_rate_;
  std::map<std::string, torch::Tensor> p_;  // this stage's parameters by name
};

std::shared_ptr<PromptMethod> make_residual_prompt(const PromptMethodArgs& args);

}  // namespace ptuner::train
