#pragma once
// What a prompt method hands the frozen model. The model knows nothing of how these were
// produced (train/ builds them); it only places them.
#include <torch/torch.h>

namespace ptuner::mp {

struct PromptInjection {
  // Soft prompt prepended to the encoder's input embeddings (Lester et al.):
  // [p, d_model] shared by the batch, or [B, p, d_model]. Undefined: no prompt.
  torch::Tensor encoder_prefix;

  int64_t prefix_length() const { return encoder_prefix.defined() ? encoder_prefix.size(-2) : 0; }
};

}  // namespace ptuner::mp
