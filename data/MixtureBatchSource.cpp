#include "data/MixtureBatchSource.h"

#include <algorithm>

#include "data/LengthBucketing.h"
#include "data/MixingRates.h"
#include "data/StreamRandom.h"
#include "dist/Check.h"

namespace ptuner::data {

MixtureBatchSource::MixtureBatchSource(const LoaderOptions& options, const Tokenizer& tokenizer)
    : options_(options), tokenizer_(tokenizer, options.tokenizer_threads) {
  PTUNER_CHECK(!options.mixture.empty(), "DataLoader: the mixture has no sources");
  std::vector<double> weights;
  for (size_t i = 0; i < options.mixture.size(); ++i) {
    const MixtureSource& m = options.mixture[i];
    // Open and count, naming the source in any error (missing file, unknown task, no example).
    std::unique_ptr<TaskReader> reader;
    int64_t n = 0;
    try {
      reader = TaskReader::open(m.task, m.path, options.on_error, options.task_prefix,
                                /*is_training=*/true);
      TextToTextExample ex;
      while (reader->next(ex)) ++n;
    } catch (const ptuner::Error& e) {
      PTUNER_FAIL("DataLoader: mixture source {} ({} '{}'): {}", i, m.task, m.path, e.what());
    }
    counts_.push_back(n);
    if (m.rate > 0) weights.push_back(m.rate);
    sources_.push_back(std::make_unique<ExampleStream>(
        std::move(reader), options.seed, options.shuffle, options.shuffle_buffer,
        std::vector<uint32_t>{kSourceTag, static_cast<uint32_t>(i)}));
  }
  rates_ = MixingRates::compute(counts_, weights, options.mixing, options.mixing_cap,
                                options.mixing_temperature);
  double sum = 0;
  for (const double r : rates_) cumulative_.push_back(sum += r);
  cumulative_.back() = 1.0;
  global_ = options.batch_size * options.dp_size;
  const int64_t step = global_ * options.batches_per_step;
  const int64_t buffer = std::max<int64_t>(options.shuffle_buffer, 1);
  window_examples_ = (buffer + step - 1) / step * step;
  used_sources_.assign(sources_.size(), {0, 0});
  seek(current());  // the start: every source at epoch 0, no draws
}

int64_t MixtureBatchSource::skipped() const {
  int64_t n = 0;
  for (const auto& s : sources_) n += s->skipped();
  return n;
}

LoaderPosition MixtureBatchSource::current() const {
  LoaderPosition p;
  p.batches_in_epoch = batches_;
  p.mixture_draws = used_draws_;
  p.sources = used_sources_;
  return p;
}

LoaderPosition MixtureBatchSource::position() const {
  if (window_pos_ == window_.size()) return current();  // no window started
  LoaderPosition p = window_start_;
  p.batches_in_epoch = batches_;
  return p;
}

LoaderPosition::Source MixtureBatchSource::draw(Indexed& out, int64_t& source) {
  const double u = uniform_unit(mix_rng_);
  const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), u);
  source = std::min<int64_t>(it - cumulative_.begin(), static_cast<int64_t>(sources_.size()) - 1);
  ExampleStream& s = *sources_[static_cast<size_t>(source)];
  if (!s.next(out)) {
    s.start_epoch(s.epoch() + 1);
    PTUNER_CHECK(s.next(out), "DataLoader: mixture source {} ('{}') gave no example in epoch {}",
                 source, s.reader().path(), s.epoch());
  }
  return {s.epoch(), s.taken()};
}

void MixtureBatchSource::use(int64_t source, const LoaderPosition::Source& after) {
  ++used_draws_;
  used_sources_[static_cast<size_t>(source)] = after;
}

bool MixtureBatchSource::work_ahead() {
  if (!options_.bucket_by_length || ahead_error_ ||
      static_cast<int64_t>(ahead_.size()) >= window_examples_)
    return false;
  const int64_t piece = std::min<int64_t>(window_examples_ - static_cast<int64_t>(ahead_.size()),
                                          64 * static_cast<int64_t>(tokenizer_.threads()));
  std::vector<Indexed> raw;
  std::vector<int64_t> from;
  std::vector<LoaderPosition::Source> after;
  std::exception_ptr error;
  try {
    Indexed ex;
    int64_t source = 0;
    while (static_cast<int64_t>(raw.size()) < piece) {
      after.push_back(draw(ex, source));
      raw.push_back(std::move(ex));
      from.push_back(source);
    }
  } catch (...) {
    error = std::current_exception();  // after the examples drawn before it
  }
  try {
    auto tokens = tokenizer_.encode(raw, from);
    for (size_t k = 0; k < tokens.size(); ++k) ahead_.push_back({std::move(tokens[k]), from[k], after[k]});
  } catch (...) {
    error = std::current_exception();
  }
  ahead_error_ = error;
  return true;
}

void MixtureBatchSource::fill_window() {
  window_start_ = current();
  seed_stream(bucket_rng_, options_.seed, used_draws_ / window_examples_, {kBucketTag, kMixingTag});
  // Examples drawn and tokenized ahead (work_ahead) first, then fresh draws; raw[r] ->
  // tokens[raw_at[r]] for the latter.
  std::vector<TokenizedExample> tokens;
  std::vector<Indexed> raw;
  std::vector<int64_t> from;
  std::vector<size_t> raw_at;
  Indexed ex;
  int64_t source = 0;
  while (static_cast<int64_t>(tokens.size()) < window_examples_) {
    if (!ahead_.empty()) {
      use(ahead_.front().source, ahead_.front().after);
      tokens.push_back(std::move(ahead_.front().tokens));
      ahead_.pop_front();
      continue;
    }
    if (ahead_error_) std::rethrow_exception(ahead_error_);
    const auto after = draw(ex, source);
    use(source, after);
    raw_at.push_back(tokens.size());
    raw.push_back(std::move(ex));
    from.push_back(source);
    tokens.emplace_back();
  }
  auto encoded = tokenizer_.encode(raw, from);
  for (size_t r = 0; r < raw.size(); ++r) tokens[raw_at[r]] = std::move(encoded[r]);
  const int64_t step = global_ * options_.batches_per_step;
  const auto order = LengthBucketing::chunk_order(window_examples_, step, options_.shuffle, bucket_rng_);
  window_ = LengthBucketing::arrange(std::move(tokens), order, step, options_.max_input_len,
                                     options_.max_target_len);
  window_pos_ = 0;
}

std::vector<TokenizedExample> MixtureBatchSource::next() {
  const int64_t b = options_.batch_size;
  const int64_t lo = options_.dp_rank * b;
  std::vector<TokenizedExample> mine;
  if (options_.bucket_by_length) {
    if (window_pos_ == window_.size()) fill_window();
    for (int64_t k = lo; k < lo + b; ++k) mine.push_back(std::move(window_[window_pos_ + static_cast<size_t>(k)]));
    window_pos_ += static_cast<size_t>(global_);
  } else {
    std::vector<Indexed> raw;
    std::vector<int64_t> from;
    Indexed ex;
    int64_t source = 0;
    for (int64_t k = 0; k < global_; ++k) {
      const auto after = draw(ex, source);
      use(source, after);
      if (k < lo || k >= lo + b) continue;
      raw.push_back(std::move(ex));
      from.push_back(source);
    }
    mine = tokenizer_.encode(raw, from);
  }
  ++batches_;
  return mine;
}

void MixtureBatchSource::seek(const LoaderPosition& pos) {
  const size_t n = sources_.size();
  PTUNER_CHECK(pos.sources.size() == n,
               "DataLoader: the position holds {} mixture sources, but this loader mixes {} files",
               pos.sources.size(), n);
  PTUNER_CHECK(pos.epoch == 0 && pos.batches_in_epoch >= 0 && pos.mixture_draws >= 0,
               "DataLoader: invalid mixture position: epoch {} (a mixture has only epoch 0), "
               "batch {}, draws {}",
               pos.epoch, pos.batches_in_epoch, pos.mixture_draws);
  const int64_t offset = pos.batches_in_epoch * global_ - pos.mixture_draws;
  if (options_.bucket_by_length) {
    PTUNER_CHECK(pos.mixture_draws % window_examples_ == 0 && offset >= 0 && offset < window_examples_,
                 "DataLoader: inconsistent mixture position: {} draws and {} batches of {} do not "
                 "fit bucketing windows of {} examples",
                 pos.mixture_draws, pos.batches_in_epoch, global_, window_examples_);
  } else {
    PTUNER_CHECK(offset == 0,
                 "DataLoader: inconsistent mixture position: {} draws for {} batches of {}",
                 pos.mixture_draws, pos.batches_in_epoch, global_);
  }
  for (size_t i = 0; i < n; ++i) {
    const auto& p = pos.sources[i];
    ExampleStream& s = *sources_[i];
    PTUNER_CHECK(p.epoch >= 0 && p.taken >= 0 && p.taken <= counts_[i],
                 "DataLoader: cannot seek mixture source {} ('{}', {} examples) to epoch {} "
                 "example {}",
                 i, s.reader().path(), counts_[i], p.epoch, p.taken);
    s.start_epoch(p.epoch);
    Indexed ex;
    for (int64_t k = 0; k < p.taken; ++k) s.next(ex);
  }
  seed_stream(mix_rng_, options_.seed, 0, {kMixingTag});
  mix_rng_.discard(static_cast<unsigned long long>(pos.mixture_draws));
  used_draws_ = pos.mixture_draws;
  used_sources_ = pos.sources;
  ahead_.clear();
  ahead_error_ = nullptr;
  batches_ = pos.batches_in_epoch;
  window_.clear();
  window_pos_ = 0;
  if (options_.bucket_by_length && offset > 0) {
    fill_window();
    window_pos_ = static_cast<size_t>(offset);
  }
}

}  // namespace ptuner::data
