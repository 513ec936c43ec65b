#pragma once
// Token ids -> padded tensors. Each sequence is truncated to its maximum length keeping the
// final eos (first max_len-1 ids, then eos 1, when it was longer), then padded to the longest
// sequence of the batch (dynamic padding), not to the maximum.
#include <cstdint>
#include <vector>

#include "data/Batch.h"

namespace ptuner::data {

class Collator {
 public:
  static constexpr int64_t kIgnoreIndex = -100;  // label padding, skipped by the loss
  static constexpr int64_t kEosId = 1;

  Collator(int64_t max_input_len, int64_t max_target_len, int64_t pad_id = 0);

  // Throws when `examples` is empty or one of them has no input or no target ids.
  Batch collate(const std::vector<TokenizedExample>& examples) const;

  int64_t max_input_len() const { return max_input_len_; }
  int64_t max_target_len() const { return max_target_len_; }

 private:
  int64_t max_input_len_;
  int64_t max_target_len_;
  int64_t pad_id_;
};

}  // namespace ptuner::data
