#include "data/DataLoader.h"

#include <algorithm>

#include "dist/Check.h"

namespace ptuner::data {

namespace {

// Uniform integer in [0, n), n >= 1, by rejection: x is accepted when x >= 2^64 mod n, so
// every residue is equally likely. Unlike std::uniform_int_distribution the result is the same
// with every standard library, which keeps checkpoints portable.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;  // 2^64 mod n
  uint64_t x = rng();
  while (x < threshold) x = rng();
  return x % n;
}

// Epoch e's generator: std::seed_seq over the 32-bit halves of (seed, e) and, for the bucketing
// generator, a tag word; both the seed_seq algorithm and mt19937_64's seeding from it are fixed
// by the standard.
void seed_epoch(std::mt19937_64& rng, uint64_t seed, int64_t epoch) {
  const auto e = static_cast<uint64_t>(epoch);
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(e), static_cast<uint32_t>(e >> 32)};
  rng.seed(seq);
}

void seed_bucket_epoch(std::mt19937_64& rng, uint64_t seed, int64_t epoch) {
  constexpr uint32_t kBucketTag = 0x62756b74;  // "bukt"
  const auto e = static_cast<uint64_t>(epoch);
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(e), static_cast<uint32_t>(e >> 32), kBucketTag};
  rng.seed(seq);
}

}  // namespace

DataLoader::DataLoader(const LoaderOptions& options, const Tokenizer& tokenizer)
    : options_(options),
      tokenizer_(tokenizer),
      collator_(options.max_input_len, options.max_target_len, tokenizer.pad_id()),
      reader_(TaskReader::open(options.task, options.path, options.on_error, options.task_prefix,
                               /*is_training=*/true)) {
  PTUNER_CHECK(options.batch_size >= 1, "DataLoader ({}): batch_size must be >= 1, got {}",
               options.path, options.batch_size);
  PTUNER_CHECK(options.dp_size >= 1, "DataLoader ({}): dp_size must be >= 1, got {}", options.path,
               options.dp_size);
  PTUNER_CHECK(options.dp_rank >= 0 && options.dp_rank < options.dp_size,
               "DataLoader ({}): dp_rank {} outside [0, dp_size = {})", options.path,
               options.dp_rank, options.dp_size);
  PTUNER_CHECK(!options.shuffle || options.shuffle_buffer >= 1,
               "DataLoader ({}): shuffle_buffer must be >= 1 when shuffling, got {}", options.path,
               options.shuffle_buffer);
  PTUNER_CHECK(options.batches_per_step >= 1,
               "DataLoader ({}): batches_per_step must be >= 1, got {}", options.path,
               options.batches_per_step);
  PTUNER_CHECK(!options.bucket_by_length || options.shuffle_buffer >= 1,
               "DataLoader ({}): shuffle_buffer (the bucketing window) must be >= 1, got {}",
               options.path, options.shuffle_buffer);
  step_examples_ = options.batch_size * options.dp_size * options.batches_per_step;
  const int64_t buffer = std::max<int64_t>(options.shuffle_buffer, 1);
  window_examples_ = (buffer + step_examples_ - 1) / step_examples_ * step_examples_;
  // Fail now, not at the first step, when the file cannot fill one global batch.
  const int64_t global = options.batch_size * options.dp_size;
  TextToTextExample ex;
  examples_in_epoch_ = 0;
  while (examples_in_epoch_ < global && reader_->next(ex)) ++examples_in_epoch_;
  if (examples_in_epoch_ < global) fail_short_epoch();
  start_epoch(0);
}

int64_t DataLoader::skipped() const { return std::max(skipped_, reader_->skipped()); }

void DataLoader::fail_short_epoch() const {
  const std::string skipped =
      reader_->skipped() > 0 ? fmt::format(" ({} malformed records skipped)", reader_->skipped())
                             : std::string();
  PTUNER_CHECK(examples_in_epoch_ > 0, "DataLoader: data file '{}' holds no examples{}",
               options_.path, skipped);
  PTUNER_FAIL(
      "DataLoader: data file '{}' holds {} examples{}, fewer than one global batch of {} "
      "(batch_size {} x dp_size {})",
      options_.path, examples_in_epoch_, skipped, options_.batch_size * options_.dp_size,
      options_.batch_size, options_.dp_size);
}

void DataLoader::start_epoch(int64_t epoch) {
  skipped_ = std::max(skipped_, reader_->skipped());
  reader_->rewind();
  buffer_.clear();
  window_.clear();
  window_pos_ = 0;
  reader_done_ = false;
  next_index_ = 0;
  seed_epoch(rng_, options_.seed, epoch);
  seed_bucket_epoch(bucket_rng_, options_.seed, epoch);
  epoch_ = epoch;
  batches_in_epoch_ = 0;
  examples_in_epoch_ = 0;
}

bool DataLoader::read_record(Indexed& out) {
  if (reader_done_ || !reader_->next(out.second)) {
    reader_done_ = true;
    return false;
  }
  out.first = next_index_++;
  return true;
}

// Streaming shuffle: keep the buffer full (while the file lasts), emit a uniformly chosen
// element, move the last one into its slot. Without shuffling the stream is the file order.
bool DataLoader::next_example(Indexed& out) {
  if (!options_.shuffle) return read_record(out);
  const auto capacity = static_cast<size_t>(options_.shuffle_buffer);
  Indexed incoming;
  while (buffer_.size() < capacity && read_record(incoming)) buffer_.push_back(std::move(incoming));
  if (buffer_.empty()) return false;
  const auto j = static_cast<size_t>(uniform_below(rng_, buffer_.size()));
  out = std::move(buffer_[j]);
  if (j + 1 != buffer_.size()) buffer_[j] = std::move(buffer_.back());
  buffer_.pop_back();
  return true;
}

TokenizedExample DataLoader::tokenize(const Indexed& ex) const {
  return {tokenizer_.encode(ex.second.inputs), tokenizer_.encode(ex.second.targets), ex.first};
}

int64_t DataLoader::fill_window(int64_t skip) {
  std::vector<Indexed> raw;
  Indexed ex;
  while (static_cast<int64_t>(raw.size()) < window_examples_ && next_example(ex))
    raw.push_back(std::move(ex));
  const auto n = static_cast<int64_t>(raw.size());
  window_.clear();
  window_pos_ = 0;
  // Chunk order: Fisher-Yates over the full chunks; the partial one (if any) stays last.
  const int64_t chunks = n / step_examples_;
  std::vector<int64_t> order(static_cast<size_t>(chunks));
  for (int64_t c = 0; c < chunks; ++c) order[static_cast<size_t>(c)] = c;
  if (options_.shuffle)
    for (int64_t i = chunks - 1; i > 0; --i)
      std::swap(order[static_cast<size_t>(i)],
                order[uniform_below(bucket_rng_, static_cast<uint64_t>(i + 1))]);
  if (n == 0 || skip >= n) return n;

  std::vector<TokenizedExample> sorted;
  sorted.reserve(raw.size());
  for (const auto& r : raw) sorted.push_back(tokenize(r));
  const int64_t max_in = options_.max_input_len, max_tgt = options_.max_target_len;
  auto kept = [](const std::vector<int64_t>& ids, int64_t max_len) {
    return std::min<int64_t>(static_cast<int64_t>(ids.size()), max_len);
  };
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](const TokenizedExample& a, const TokenizedExample& b) {
                     const int64_t ia = kept(a.input_ids, max_in), ib = kept(b.input_ids, max_in);
                     if (ia != ib) return ia < ib;
                     return kept(a.target_ids, max_tgt) < kept(b.target_ids, max_tgt);
                   });
  window_.reserve(sorted.size());
  for (const int64_t c : order)
    for (int64_t k = c * step_examples_; k < (c + 1) * step_examples_; ++k)
      window_.push_back(std::move(sorted[static_cast<size_t>(k)]));
  for (int64_t k = chunks * step_examples_; k < n; ++k)
    window_.push_back(std::move(sorted[static_cast<size_t>(k)]));
  return n;
}

bool DataLoader::next_bucketed(TokenizedExample& out) {
  if (window_pos_ == window_.size() && fill_window(0) == 0) return false;
  out = std::move(window_[window_pos_++]);
  return true;
}

bool DataLoader::next_global_batch(std::vector<TokenizedExample>* mine) {
  const int64_t b = options_.batch_size;
  const int64_t lo = options_.dp_rank * b;
  const int64_t global = b * options_.dp_size;
  Indexed ex;
  TokenizedExample tok;
  for (int64_t k = 0; k < global; ++k) {
    const bool mine_now = mine != nullptr && k >= lo && k < lo + b;
    if (options_.bucket_by_length) {
      if (!next_bucketed(tok)) return false;
      if (mine_now) mine->push_back(std::move(tok));
    } else {
      if (!next_example(ex)) return false;
      if (mine_now) mine->push_back(tokenize(ex));
    }
    ++examples_in_epoch_;
  }
  return true;
}

Batch DataLoader::next() {
  std::vector<TokenizedExample> mine;
  mine.reserve(static_cast<size_t>(options_.batch_size));
  while (!next_global_batch(&mine)) {
    if (batches_in_epoch_ == 0) fail_short_epoch();
    start_epoch(epoch_ + 1);
    mine.clear();
  }
  ++batches_in_epoch_;
  Batch batch = collator_.collate(mine);
  padding_.input_tokens += batch.num_input_tokens;
  padding_.input_slots += batch.input_ids.numel();
  padding_.target_tokens += batch.num_target_tokens;
  padding_.target_slots += batch.labels.numel();
  return batch;
}

void DataLoader::seek_bucketed(const LoaderPosition& pos) {
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

void DataLoader::seek(const LoaderPosition& pos) {
  PTUNER_CHECK(pos.epoch >= 0 && pos.batches_in_epoch >= 0,
               "DataLoader ({}): invalid position epoch {} batch {}", options_.path, pos.epoch,
               pos.batches_in_epoch);
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
