#include "data/ExampleStream.h"

#include <algorithm>

#include "data/StreamRandom.h"

namespace ptuner::data {

ExampleStream::ExampleStream(std::unique_ptr<TaskReader> reader, uint64_t seed, bool shuffle,
                             int64_t buffer, std::vector<uint32_t> tags)
    : reader_(std::move(reader)),
      seed_(seed),
      shuffle_(shuffle),
      buffer_size_(static_cast<size_t>(std::max<int64_t>(buffer, 1))),
      tags_(std::move(tags)) {
  start_epoch(0);
}

int64_t ExampleStream::skipped() const { return std::max(skipped_, reader_->skipped()); }

void ExampleStream::start_epoch(int64_t epoch) {
  skipped_ = std::max(skipped_, reader_->skipped());
  reader_->rewind();
  buffer_.clear();
  reader_done_ = false;
  next_index_ = 0;
  seed_stream(rng_, seed_, epoch, tags_);
  epoch_ = epoch;
  taken_ = 0;
}

bool ExampleStream::read_record(Indexed& out) {
  if (reader_done_ || !reader_->next(out.second)) {
    reader_done_ = true;
    return false;
  }
  out.first = next_index_++;
  return true;
}

bool ExampleStream::next(Indexed& out) {
  if (!shuffle_) {
    if (!read_record(out)) return false;
    ++taken_;
    return true;
  }
  Indexed incoming;
  while (buffer_.size() < buffer_size_ && read_record(incoming)) buffer_.push_back(std::move(incoming));
  if (buffer_.empty()) return false;
  const auto j = static_cast<size_t>(uniform_below(rng_, buffer_.size()));
  out = std::move(buffer_[j]);
  if (j + 1 != buffer_.size()) buffer_[j] = std::move(buffer_.back());
  buffer_.pop_back();
  ++taken_;
  return true;
}

}  // namespace ptuner::data
