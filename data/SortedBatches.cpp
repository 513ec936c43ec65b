#include "data/SortedBatches.h"

#include <algorithm>
#include <iterator>
#include <random>

#include "data/LengthBucketing.h"
#include "dist/Check.h"

namespace ptuner::data {

SortedBatches::SortedBatches(int64_t batch_size, int64_t max_input_len, int64_t max_target_len, Run run)
    : batch_size_(batch_size), max_input_len_(max_input_len), max_target_len_(max_target_len), run_(std::move(run)) {
  PTUNER_CHECK(batch_size > 0, "a batch of {} rows", batch_size);
}

void SortedBatches::add(TokenizedExample example) {
  window_.push_back(std::move(example));
  if (static_cast<int64_t>(window_.size()) == kWindowBatches * batch_size_) flush();
}

void SortedBatches::flush() {
  if (window_.empty()) return;
  const auto n = static_cast<int64_t>(window_.size());
  std::mt19937_64 unused;  // no shuffling: chunk_order draws nothing
  auto sorted = LengthBucketing::arrange(std::move(window_), LengthBucketing::chunk_order(n, batch_size_, false, unused),
                                         batch_size_, max_input_len_, max_target_len_);
  window_.clear();
  std::vector<TokenizedExample> batch;
  for (int64_t i = 0; i < n; i += batch_size_) {
    batch.assign(std::make_move_iterator(sorted.begin() + i),
                 std::make_move_iterator(sorted.begin() + std::min(n, i + batch_size_)));
    run_(batch);
  }
}

}  // namespace ptuner::data
