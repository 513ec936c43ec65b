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

// Epoch e's generator: std::seed_seq over the 32-bit halves of (seed, e); both the seed_seq
// algorithm and mt19937_64's seeding from it are fixed by the standard.
void seed_epoch(std::mt19937_64& rng, uint64_t seed, int64_t epoch) {
  const auto e = static_cast<uint64_t>(epoch);
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(e), static_cast<uint32_t>(e >> 32)};
  rng.seed(seq);
}

}  // namespace

DataLoader::DataLoader(const LoaderOptions& options, const Tokenizer& tokenizer)
    : options_(options),
      tokenizer_(tokenizer),
      collator_(options.max_input_len, options.max_target_len, tokenizer.pad_id()),
      reader_(options.path, options.on_error) {
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
  // Fail now, not at the first step, when the file cannot fill one global batch.
  const int64_t global = options.batch_size * options.dp_size;
  TextToTextExample ex;
  examples_in_epoch_ = 0;
  while (examples_in_epoch_ < global && reader_.next(ex)) ++examples_in_epoch_;
  if (examples_in_epoch_ < global) fail_short_epoch();
  start_epoch(0);
}

int64_t DataLoader::skipped() const { return std::max(skipped_, reader_.skipped()); }

void DataLoader::fail_short_epoch() const {
  const std::string skipped =
      reader_.skipped() > 0 ? fmt::format(" ({} malformed records skipped)", reader_.skipped())
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
  skipped_ = std::max(skipped_, reader_.skipped());
  reader_.rewind();
  buffer_.clear();
  reader_done_ = false;
  next_index_ = 0;
  seed_epoch(rng_, options_.seed, epoch);
  epoch_ = epoch;
  batches_in_epoch_ = 0;
  examples_in_epoch_ = 0;
}

bool DataLoader::read_record(Indexed& out) {
  if (reader_done_ || !reader_.next(out.second)) {
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

bool DataLoader::next_global_batch(std::vector<Indexed>* mine) {
  const int64_t b = options_.batch_size;
  const int64_t lo = options_.dp_rank * b;
  const int64_t global = b * options_.dp_size;
  Indexed ex;
  for (int64_t k = 0; k < global; ++k) {
    if (!next_example(ex)) return false;
    ++examples_in_epoch_;
    if (mine != nullptr && k >= lo && k < lo + b) mine->push_back(std::move(ex));
  }
  return true;
}

Batch DataLoader::next() {
  std::vector<Indexed> mine;
  mine.reserve(static_cast<size_t>(options_.batch_size));
  while (!next_global_batch(&mine)) {
    if (batches_in_epoch_ == 0) fail_short_epoch();
    start_epoch(epoch_ + 1);
    mine.clear();
  }
  ++batches_in_epoch_;
  std::vector<TokenizedExample> tokenized;
  tokenized.reserve(mine.size());
  for (auto& [index, ex] : mine)
    tokenized.push_back({tokenizer_.encode(ex.inputs), tokenizer_.encode(ex.targets), index});
  return collator_.collate(tokenized);
}

void DataLoader::seek(const LoaderPosition& pos) {
  PTUNER_CHECK(pos.epoch >= 0 && pos.batches_in_epoch >= 0,
               "DataLoader ({}): invalid position epoch {} batch {}", options_.path, pos.epoch,
               pos.batches_in_epoch);
  start_epoch(pos.epoch);
  for (int64_t k = 0; k < pos.batches_in_epoch; ++k) {
    PTUNER_CHECK(next_global_batch(nullptr),
                 "DataLoader: cannot seek to epoch {} batch {}: data file '{}' gives only {} "
                 "full global batches of {} per epoch",
                 pos.epoch, pos.batches_in_epoch, options_.path, k,
                 options_.batch_size * options_.dp_size);
  }
  batches_in_epoch_ = pos.batches_in_epoch;
}

}  // namespace ptuner::data
