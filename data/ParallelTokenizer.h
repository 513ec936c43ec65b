#pragma once
// Tokenizes a list of examples on `threads` threads (the calling one included): thread t takes
// the t-th of `threads` contiguous slices, and output k is always example k, so the result does
// not depend on the thread count. Tokenizer is thread-safe (data/Tokenizer.h).
#include <cstdint>
#include <vector>

#include "data/Batch.h"
#include "data/ExampleStream.h"
#include "data/Tokenizer.h"

namespace ptuner::data {

class ParallelTokenizer {
 public:
  ParallelTokenizer(const Tokenizer& tokenizer, int threads);

  // inputs and targets of each example, with eos; index = the dataset index, source = `source`.
  TokenizedExample encode(const ExampleStream::Indexed& ex, int64_t source = 0) const;
  // Lists shorter than min_per_thread examples per thread use fewer threads. sources: one per
  // example, or empty (all 0).
  std::vector<TokenizedExample> encode(const std::vector<ExampleStream::Indexed>& examples,
                                       const std::vector<int64_t>& sources = {},
                                       int64_t min_per_thread = 16) const;

  int threads() const { return threads_; }

 private:
  Tokenizer tokenizer_;
  int threads_;
};

}  // namespace ptuner::data
