#pragma once
// Lester et al.'s soft prompt ("shallow"): P ∈ R^{p×d_model}, prepended to the encoder input
// embeddings of every row (one prompt: a mixture's rows all carry it, as SPoT's multi-task
// source prompt). The stage holding the embedding owns P ("embedding"); the other stages own
// nothing and only know p. Initialisations (initial_rows):
//   uniform        U[−0.5, 0.5]
//   sampled-vocab  embedding rows of tokens drawn (without replacement) from the N most common
//   class-labels   row i = mean embedding of label i's sub-tokens; remaining rows sampled-vocab
//   text           embeddings of the text's tokens, repeated cyclically to p rows
//   file           a source prompt's rows (SPoT transfer; train/Spot.h read_source_prompt)
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "data/Tokenizer.h"
#include "train/PromptMethod.h"

namespace ptuner::train {

struct SoftPromptInit {
  std::string kind = "sampled-vocab";
  uint64_t seed = 0;
  int64_t sample_top = 5000;
  std::vector<std::string> class_labels;
  std::string text;
  std::string file, resize = "none";  // "file": the source prompt and how to fit its length

  static SoftPromptInit of(const RunConfig& config);
};

// p rows of d_model as `init` makes them (fp32, CPU); `embed` maps token ids [n] to their frozen
// embedding rows [n, d_model] (not called for "uniform").
torch::Tensor initial_rows(const SoftPromptInit& init, int64_t p, int64_t d_model, const data::Tokenizer& tokenizer,
                           const std::function<torch::Tensor(const torch::Tensor&)>& embed);

class SoftPrompt : public PromptMethod {
 public:
  // owner: whether this stage holds P (the stage holding the embedding).
  SoftPrompt(int64_t length, int64_t d_model, bool owner = true);
  std::string method() const override { return "shallow"; }
  nlohmann::json hyper_parameters() const override { return {{"length", length_}}; }
  int64_t prefix_length() const override { return length_; }
  mp::PromptInjection injection(const mp::MicroBatch& mb) override;
  std::map<std::string, std::vector<int64_t>> global_shapes() const override;

  // `embed` maps token ids [n] to their (frozen) embedding rows [n, d_model].
  void initialise(const SoftPromptInit& init, const data::Tokenizer& tokenizer,
                  const std::function<torch::Tensor(const torch::Tensor&)>& embed);

  torch::Tensor embedding;  // [p, d_model] fp32, trainable (undefined where not the owner)

 private:
  int64_t length_, d_model_;
};

// The "shallow" method of a config, initialised as configured on the stage that owns it.
std::shared_ptr<PromptMethod> make_soft_prompt(const PromptMethodArgs& args);

}  // namespace ptuner::train
