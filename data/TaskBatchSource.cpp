#include "data/TaskBatchSource.h"

#include <algorithm>

#include "data/LengthBucketing.h"
#include "data/StreamRandom.h"
#include "dist/Check.h"

namespace ptuner::data {

TaskBatchSource::TaskBatchSource(const LoaderOptions& options, const Tokenizer& tokenizer)
    : options_(options),
      tokenizer_(tokenizer, options.tokenizer_threads),
      stream_(TaskReader::open(options.task, options.path, options.on_error, options.task_prefix,
                               /*is_training=*/true),
              options.seed, options.shuffle, options.shuffle_buffer) {
  step_examples_ = options.batch_size * options.dp_size * options.batches_per_step;
  const int64_t buffer = std::max<int64_t>(options.shuffle_buffer, 1);
  window_examples_ = (buffer + step_examples_ - 1) / step_examples_ * step_examples_;
  // Fail now, not at the first step, when the file cannot fill one global batch.
  const int64_t global = options.batch_size * options.dp_size;
  TextToTextExample ex;
  examples_in_epoch_ = 0;
  while (examples_in_epoch_ < global && stream_.reader().next(ex)) ++examples_in_epoch_;
  seen_skipped_ = stream_.reader().skipped();
  if (examples_in_epoch_ < global) fail_short_epoch();
  start_epoch(0);
}

int64_t TaskBatchSource::skipped() const { return std::max(epochs_skipped_, seen_skipped_); }

bool TaskBatchSource::read(Indexed& out) {
  const bool got = stream_.next(out);
  seen_skipped_ = stream_.reader().skipped();
  return got;
}

void TaskBatchSource::fail_short_epoch() const {
  const int64_t n = seen_skipped_;
  const std::string skipped =
      n > 0 ? fmt::format(" ({} malformed records skipped)", n) : std::string();
  PTUNER_CHECK(examples_in_epoch_ > 0, "DataLoader: data file '{}' holds no examples{}",
               options_.path, skipped);
  PTUNER_FAIL(
      "DataLoader: data file '{}' holds {} examples{}, fewer than one global batch of {} "
      "(batch_size {} x dp_size {})",
      options_.path, examples_in_epoch_, skipped, options_.batch_size * options_.dp_size,
      options_.batch_size, options_.dp_size);
}

void TaskBatchSource::start_epoch(int64_t epoch) {
  epochs_skipped_ = std::max(epochs_skipped_, seen_skipped_);
  seen_skipped_ = 0;
  stream_.start_epoch(epoch);
  ahead_.clear();
  ahead_end_ = false;
  ahead_error_ = nullptr;
  window_.clear();
  window_pos_ = 0;
  seed_stream(bucket_rng_, options_.seed, epoch, {kBucketTag});
  epoch_ = epoch;
  batches_in_epoch_ = 0;
  examples_in_epoch_ = 0;
}

bool TaskBatchSource::work_ahead() {
  if (!options_.bucket_by_length || ahead_end_ || ahead_error_ ||
      static_cast<int64_t>(ahead_.size()) >= window_examples_)
    return false;
  // A small piece at a time, so that the caller can look at its queue (and stop) in between.
  const int64_t piece = std::min<int64_t>(window_examples_ - static_cast<int64_t>(ahead_.size()),
                                          64 * static_cast<int64_t>(tokenizer_.threads()));
  std::vector<Indexed> raw;
  std::vector<int64_t> skipped;
  std::exception_ptr error;
  try {
    Indexed ex;
    while (static_cast<int64_t>(raw.size()) < piece) {
      if (!stream_.next(ex)) {
        ahead_end_ = true;
        break;
      }
      raw.push_back(std::move(ex));
      skipped.push_back(stream_.reader().skipped());
    }
  } catch (...) {
    error = std::current_exception();  // after the examples read before it
  }
  try {
    auto tokens = tokenizer_.encode(raw);
    for (size_t k = 0; k < tokens.size(); ++k) ahead_.push_back({std::move(tokens[k]), skipped[k]});
  } catch (...) {
    error = std::current_exception();
  }
  ahead_error_ = error;  // thrown when fill_window reaches it
  return true;
}

int64_t TaskBatchSource::fill_window(int64_t skip) {
  // Examples tokenized ahead (work_ahead) first, then the stream; tokens[k] is filled for the
  // former, raw[r] -> tokens[raw_at[r]] for the latter.
  std::vector<TokenizedExample> tokens;
  std::vector<Indexed> raw;
  std::vector<size_t> raw_at;
  Indexed ex;
  while (static_cast<int64_t>(tokens.size()) < window_examples_) {
    if (!ahead_.empty()) {
      tokens.push_back(std::move(ahead_.front().tokens));
      seen_skipped_ = ahead_.front().skipped;
      ahead_.pop_front();
      continue;
    }
    if (ahead_error_) std::rethrow_exception(ahead_error_);
    if (!read(ex)) break;
    raw_at.push_back(tokens.size());
    raw.push_back(std::move(ex));
    tokens.emplace_back();
  }
  const auto n = static_cast<int64_t>(tokens.size());
  window_.clear();
  window_pos_ = 0;
  const auto order = LengthBucketing::chunk_order(n, step_examples_, options_.shuffle, bucket_rng_);
  if (n == 0 || skip >= n) return n;
  auto encoded = tokenizer_.encode(raw);
  for (size_t r = 0; r < raw.size(); ++r) tokens[raw_at[r]] = std::move(encoded[r]);
  window_ = LengthBucketing::arrange(std::move(tokens), order, step_examples_,
                                     options_.max_input_len, options_.max_target_len);
  return n;
}

bool TaskBatchSource::next_bucketed(TokenizedExample& out) {
  if (window_pos_ == window_.size() && fill_window(0) == 0) return false;
  out = std::move(window_[window_pos_++]);
  return true;
}

bool TaskBatchSource::next_global_batch(std::vector<TokenizedExample>* mine) {
  const int64_t b = options_.batch_size;
  const int64_t lo = options_.dp_rank * b;
  const int64_t global = b * options_.dp_size;
  std::vector<Indexed> raw;  // this rank's slice, tokenized together (unbucketed)
  Indexed ex;
  TokenizedExample tok;
  for (int64_t k = 0; k < global; ++k) {
    const bool mine_now = mine != nullptr && k >= lo && k < lo + b;
    if (options_.bucket_by_length) {
      if (!next_bucketed(tok)) return false;
      if (mine_now) mine->push_back(std::move(tok));
    } else {
      if (!read(ex)) return false;
      if (mine_now) raw.push_back(std::move(ex));
    }
    ++examples_in_epoch_;
  }
  if (mine != nullptr && !raw.empty()) *mine = tokenizer_.encode(raw);
  return true;
}

std::vector<TokenizedExample> TaskBatchSource::next() {
  std::vector<TokenizedExample> mine;
  mine.reserve(static_cast<size_t>(options_.batch_size));
  while (!next_global_batch(&mine)) {
    if (batches_in_epoch_ == 0) fail_short_epoch();
    start_epoch(epoch_ + 1);
    mine.clear();
  }
  ++batches_in_epoch_;
  return mine;
}

void TaskBatchSource::seek_bucketed(const LoaderPosition& pos) {
  const int64_t global = options_.batch_size * options_.dp_size;
  int64_t to_skip = pos.batches_in_epoch * global;
  while (to_skip > 0) {
    const auto left = static_cast<int64_t>(window_.size() - window_pos_);
    if (left > 0) {
      const int64_t take = std::min(left, to_skip);
      window_pos_ += static_cast<size_t>(take);
      examples_in_epoch_ += take;
      to_skip -= take;
      continue;
    }
    const int64_t n = fill_window(to_skip);
    PTUNER_CHECK(n > 0,
                 "DataLoader: cannot seek to epoch {} batch {}: data file '{}' gives only {} full "
                 "global batches of {} per epoch",
                 pos.epoch, pos.batches_in_epoch, options_.path, examples_in_epoch_ / global,
                 global);
    if (window_.empty()) {  // skipped whole
      examples_in_epoch_ += n;
      to_skip -= n;
    }
  }
}

void TaskBatchSource::seek(const LoaderPosition& pos) {
  PTUNER_CHECK(pos.epoch >= 0 && pos.batches_in_epoch >= 0,
               "DataLoader ({}): invalid position epoch {} batch {}", options_.path, pos.epoch,
               pos.batches_in_epoch);
  PTUNER_CHECK(pos.sources.empty(),
               "DataLoader ({}): the position holds {} mixture sources, but this loader reads one "
               "task's file",
               options_.path, pos.sources.size());
  start_epoch(pos.epoch);
  if (options_.bucket_by_length) {
    seek_bucketed(pos);
  } else {
    for (int64_t k = 0; k < pos.batches_in_epoch; ++k) {
      PTUNER_CHECK(next_global_batch(nullptr),
                   "DataLoader: cannot seek to epoch {} batch {}: data file '{}' gives only {} "
                   "full global batches of {} per epoch",
                   pos.epoch, pos.batches_in_epoch, options_.path, k,
                   options_.batch_size * options_.dp_size);
    }
  }
  batches_in_epoch_ = pos.batches_in_epoch;
}

}  // namespace ptuner::data
