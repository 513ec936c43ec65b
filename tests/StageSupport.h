#pragma once
// The forward training runs, for the model tests: the pipeline stage at pp = 1 (every block,
// the embedding and the LM head on one rank) over one micro-batch.
#include <torch/torch.h>

#include "model_parallel/CrossEntropy.h"
#include "model_parallel/PipelineStage.h"

namespace ptuner::testing {

// Labels whose decoder input (shift_right) is dec [B, T], whose first column is the start token:
// dec without its first column, then any token (it only feeds the loss of the last position).
inline torch::Tensor labels_shifting_to(const torch::Tensor& dec) {
  return torch::cat({dec.narrow(1, 1, dec.size(1) - 1), torch::zeros({dec.size(0), 1}, dec.options())}, 1);
}

inline mp::MicroBatch micro_batch(const torch::Tensor& ids, const torch::Tensor& mask, const torch::Tensor& labels,
                                  const mp::PromptInjection& prompt) {
  mp::MicroBatch mb;
  mb.input_ids = ids;
  mb.attention_mask = mask;
  mb.labels = labels;
  mb.prefix_length = prompt.prefix_length();
  return mb;
}

// The decoder output [B, T, d] of a whole-model stage.
inline torch::Tensor decoder_output(mp::PipelineStage& stage, const torch::Tensor& ids, const torch::Tensor& mask,
                                    const torch::Tensor& labels, const mp::PromptInjection& prompt) {
  return stage.forward(micro_batch(ids, mask, labels, prompt), {}, prompt).at(0);
}

}  // namespace ptuner::testing
