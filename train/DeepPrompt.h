#pragma once
// Deep prompts (P-tuning v2, Liu et al., 2022; prefix tuning, Li & Liang, 2021): p trainable key
// and value rows in the attention of every chosen layer, which every query attends to with zero
// position bias (model_parallel/PromptInjection.h). The places ("slots"):
//   encoder_self_<i>    self-attention of encoder block i       (prompt.deep.encoder, default)
//   decoder_self_<j>    self-attention of decoder block j       (prompt.deep.decoder)
//   decoder_cross_<j>   cross-attention of decoder block j      (prompt.deep.cross)
// No encoder input rows are added (prefix_length() = 0).
//
// Parameters, at global (layout-independent) names:
//   without reparameterisation: <slot> [2, heads, p, d_kv]: keys ([0]) and values ([1]);
//   with it (prompt.deep.reparam_hidden = h, prefix tuning's MLP): a table embedding [p, d] and
//   reparam_in_weight [h, d], reparam_in_bias [h], then per slot <slot>_weight [2, heads, d_kv, h]
//   and <slot>_bias [2, heads, d_kv]: the slot's prefix is
//       kv[s, n, t, :] = <slot>_weight[s, n] · tanh(reparam_in_weight · embedding[t] + reparam_in_bias)
//                        + <slot>_bias[s, n]
//   i.e. Linear(d, h) – tanh – Linear(h, 2·slots·heads·d_kv) with the last layer's rows kept per
//   slot. plain() folds it away into the per-slot prefixes.
// Placement: a slot's tensors live on the stage holding its block; every TP rank holds every head
// and hands attention its own heads, so every gradient is tp_partial. With reparameterisation the
// table and the first layer are pp_shared: every stage holds them, each stage's gradient covers its
// own slots and the trainer sums them over the pipeline.
// Initialisation: rows R [p, d] as prompt.init makes them for a shallow prompt (on the first
// stage, shared along the pipeline). Without reparameterisation a slot starts as the frozen layer's
// own key and value projections of R (self-attention: after the layer's norm; cross-attention: of
// R scaled to unit RMS, standing in for the encoder's output, which its final RMSNorm scales by a
// learned weight), or for prompt.init = "uniform" U[−0.5, 0.5].
// With it, embedding = R and the linear layers as torch.nn.Linear (U(±1/√fan_in)).
#include <optional>

#include "train/PromptMethod.h"

namespace ptuner::train {

struct DeepOptions {
  int64_t length = 100, d_model = 0, heads = 0, d_kv = 0, encoder_layers = 0, decoder_layers = 0;
  bool encoder = true, decoder = false, cross = false;
  int64_t reparam_hidden = 0;
};

class DeepPrompt : public PromptMethod {
 public:
  struct Slot {
    int64_t block;  // global block index (encoder 0..L−1, decoder L..)
    bool cross;
    std::string name;
  };

  DeepPrompt(const DeepOptions& options, const PromptPlace& place, const ParamRate& mlp_rate);
  std::string method() const override { return "deep"; }
  nlohmann::json hyper_parameters() const override;
  int64_t prefix_length() const override { return 0; }
  mp::PromptInjection injection(const mp::MicroBatch& mb) override;
  std::map<std::string, std::vector<int64_t>> global_shapes() const override;
  bool tp_partial(const std::string&) const override { return true; }
  bool pp_shared(const std::string& name) const override;
  ParamRate rate(const std::string& name) const override;
  PlainPrompt plain() const override;

  // Every slot of the method, in block order.
  std::vector<Slot> slots() const;
  // Slot s's prefix over every head, [2, heads, p, d_kv] (this stage's slots).
  torch::Tensor prefix(const Slot& s) const;
  void initialise(const PromptMethodArgs& args);
  // Test hook: a score bias on every prefix column (−∞: the prefixes get no attention weight).
  void set_score_bias(std::optional<double> bias) { score_bias_ = bias; }

 private:
  bool owns(const Slot& s) const { return place_.first_block <= s.block && s.block < place_.end_block; }
  torch::Tensor hidden() const;  // tanh(reparam_in(embedding)) [p, h]
  torch::Tensor prefix_heads(const Slot& s, const torch::Tensor& hidden, int64_t first_head, int64_t heads) const;

  DeepOptions o_;
  PromptPlace place_;
  ParamRate mlp_rate_;
  std::map<std::string, torch::Tensor> p_;
  std::optional<double> score_bias_;
};

std::shared_ptr<PromptMethod> make_deep_prompt(const PromptMethodArgs& args);

}  // namespace ptuner::train
