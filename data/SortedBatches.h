#pragma once
// Batches for evaluation and prediction: examples are gathered into windows of kWindowBatches
// batches; each window is sorted by length (LengthBucketing, without shuffling: by input length,
// then target length, stable) and handed to `run` batch by batch, so that rows of like length
// share a batch and pad little. The caller keeps results by example index, so the order changes
// none of them; memory stays one window.
#include <cstdint>
#include <functional>
#include <vector>

#include "data/Batch.h"

namespace ptuner::data {

class SortedBatches {
 public:
  static constexpr int64_t kWindowBatches = 32;
  using Run = std::function<void(const std::vector<TokenizedExample>&)>;
  // Lengths are compared as the collator will cut them (max_input_len, max_target_len).
  SortedBatches(int64_t batch_size, int64_t max_input_len, int64_t max_target_len, Run run);
  // Adds an example; a full window runs its batches.
  void add(TokenizedExample example);
  // Runs the batches of the examples added since the last full window (the last one partial).
  void flush();

 private:
  int64_t batch_size_, max_input_len_, max_target_len_;
  Run run_;
  std::vector<TokenizedExample> window_;
};

}  // namespace ptuner::data
