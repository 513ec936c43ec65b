#pragma once
// Token ids of examples, and the padded tensors of one micro-batch built from them.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace ptuner::data {

struct TokenizedExample {
  std::vector<int64_t> input_ids;   // encoder ids, ending in eos (1)
  std::vector<int64_t> target_ids;  // decoder targets, ending in eos (1)
  int64_t index = -1;               // position in the dataset (file order of valid records)
  int64_t source = 0;               // which file of a mixture (LoaderOptions::mixture); 0 otherwise
};

// B examples padded to the longest in the batch: S = max input length, T = max target length.
struct Batch {
  at::Tensor input_ids;        // [B, S] int64, padding = pad id (0)
  at::Tensor attention_mask;   // [B, S] int64, 1 on tokens, 0 on padding
  at::Tensor labels;           // [B, T] int64, padding = -100 (ignored by the loss)
  int64_t num_target_tokens = 0;  // labels != -100, i.e. tokens the loss averages over
  int64_t num_input_tokens = 0;   // attention_mask == 1
  std::vector<int64_t> indices;   // TokenizedExample::index of each row
  std::vector<int64_t> sources;   // TokenizedExample::source of each row
  int64_t size() const { return input_ids.defined() ? input_ids.size(0) : 0; }
};

}  // namespace ptuner::data
