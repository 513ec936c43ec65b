#pragma once
// Length bucketing of one window of the example stream: the window's examples are sorted by
// (input length, target length) after truncation (stable: ties keep stream order), cut into
// chunks of `step` consecutive examples (the examples of one optimizer step), and the chunks
// emitted in a given order; a partial last chunk (fewer than `step` examples) is emitted last.
#include <cstdint>
#include <random>
#include <vector>

#include "data/Batch.h"

namespace ptuner::data {

class LengthBucketing {
 public:
  // The order of the n / step full chunks of an n-example window: a Fisher-Yates shuffle drawn
  // from `rng` (i = chunks-1 .. 1: swap i with uniform_below(i + 1)), or 0, 1, ... without
  // shuffling (no draw).
  static std::vector<int64_t> chunk_order(int64_t n, int64_t step, bool shuffle,
                                          std::mt19937_64& rng);
  // The window's examples sorted and emitted chunk by chunk in `order` (from chunk_order).
  static std::vector<TokenizedExample> arrange(std::vector<TokenizedExample> window,
                                               const std::vector<int64_t>& order, int64_t step,
                                               int64_t max_input_len, int64_t max_target_len);
};

}  // namespace ptuner::data
