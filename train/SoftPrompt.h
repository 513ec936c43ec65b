#pragma once
// Lester et al.'s soft prompt: P ∈ R^{p×d_model}, prepended to the encoder input embeddings.
// Initialisations:
//   uniform        U[−0.5, 0.5]
//   sampled-vocab  embedding rows of tokens drawn (without replacement) from the N most common
//   class-labels   row i = mean embedding of label i's sub-tokens; remaining rows sampled-vocab
//   text           embeddings of the text's tokens, repeated cyclically to p rows
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
};

class SoftPrompt : public PromptMethod {
 public:
  SoftPrompt(int64_t length, int64_t d_model);
  std::string method() const override { return "prompt-tuning"; }
  mp::PromptInjection injection() override;

  // `embed` maps token ids [n] to their (frozen) embedding rows [n, d_model].
  void initialise(const SoftPromptInit& init, const data::Tokenizer& tokenizer,
                  const std::function<torch::Tensor(const torch::Tensor&)>& embed);

  torch::Tensor embedding;  // [p, d_model] fp32, trainable
};

}  // namespace ptuner::train
