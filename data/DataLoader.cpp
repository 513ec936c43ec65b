#include "data/DataLoader.h"

#include "data/MixtureBatchSource.h"
#include "data/TaskBatchSource.h"
#include "dist/Check.h"

namespace ptuner::data {

DataLoader::DataLoader(const LoaderOptions& options, const Tokenizer& tokenizer)
    : options_(options), collator_(options.max_input_len, options.max_target_len, tokenizer.pad_id()) {
  const std::string name =
      options.mixture.empty() ? options.path : fmt::format("mixture of {} files", options.mixture.size());
  PTUNER_CHECK(options.batch_size >= 1, "DataLoader ({}): batch_size must be >= 1, got {}",
               name, options.batch_size);
  PTUNER_CHECK(options.dp_size >= 1, "DataLoader ({}): dp_size must be >= 1, got {}", name,
               options.dp_size);
  PTUNER_CHECK(options.dp_rank >= 0 && options.dp_rank < options.dp_size,
               "DataLoader ({}): dp_rank {} outside [0, dp_size = {})", name,
               options.dp_rank, options.dp_size);
  PTUNER_CHECK(!options.shuffle || options.shuffle_buffer >= 1,
               "DataLoader ({}): shuffle_buffer must be >= 1 when shuffling, got {}", name,
               options.shuffle_buffer);
  PTUNER_CHECK(options.batches_per_step >= 1,
               "DataLoader ({}): batches_per_step must be >= 1, got {}", name,
               options.batches_per_step);
  PTUNER_CHECK(!options.bucket_by_length || options.shuffle_buffer >= 1,
               "DataLoader ({}): shuffle_buffer (the bucketing window) must be >= 1, got {}",
               name, options.shuffle_buffer);
  PTUNER_CHECK(options.prefetch >= 0, "DataLoader ({}): prefetch must be >= 0, got {}", name,
               options.prefetch);
  PTUNER_CHECK(options.tokenizer_threads >= 1,
               "DataLoader ({}): tokenizer_threads must be >= 1, got {}", name,
               options.tokenizer_threads);
  if (options.mixture.empty()) {
    source_ = std::make_unique<TaskBatchSource>(options, tokenizer);
  } else {
    auto mixture = std::make_unique<MixtureBatchSource>(options, tokenizer);
    rates_ = mixture->rates();
    counts_ = mixture->counts();
    source_ = std::move(mixture);
  }
  position_ = source_->position();
  skipped_ = source_->skipped();
}

DataLoader::~DataLoader() {
  stop_producer();
  // A next() still waiting (on another thread) has been woken to throw: let it leave first.
  std::unique_lock<std::mutex> lock(mutex_);
  idle_.wait(lock, [&] { return waiting_ == 0; });
}

int64_t DataLoader::prefetched() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(queue_.size());
}

DataLoader::Made DataLoader::make() {
  Made m;
  m.batch = collator_.collate(source_->next());
  m.after = source_->position();
  m.skipped = source_->skipped();
  return m;
}

Batch DataLoader::take(Made made) {
  position_ = std::move(made.after);
  skipped_ = made.skipped;
  Batch& batch = made.batch;
  padding_.input_tokens += batch.num_input_tokens;
  padding_.input_slots += batch.input_ids.numel();
  padding_.target_tokens += batch.num_target_tokens;
  padding_.target_slots += batch.labels.numel();
  return std::move(batch);
}

void DataLoader::produce() {
  const auto capacity = static_cast<size_t>(options_.prefetch);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
    }
    Made m;
    try {
      m = make();
    } catch (...) {
      m.error = std::current_exception();
    }
    const bool failed = static_cast<bool>(m.error);
    std::unique_lock<std::mutex> lock(mutex_);
    // While the queue is full, do work later batches need (source_ is this thread's alone);
    // wait when there is none.
    while (!stopping_ && queue_.size() >= capacity) {
      lock.unlock();
      const bool worked = !failed && source_->work_ahead();
      lock.lock();
      if (!worked) space_.wait(lock, [&] { return stopping_ || queue_.size() < capacity; });
    }
    if (stopping_) return;
    queue_.push_back(std::move(m));
    ready_.notify_one();
    if (failed) return;  // the source is in no state to go on
  }
}

Batch DataLoader::next() {
  if (options_.prefetch == 0) return take(make());
  std::unique_lock<std::mutex> lock(mutex_);
  if (error_) std::rethrow_exception(error_);
  if (!producer_.joinable()) producer_ = std::thread([this] { produce(); });
  // Counted as waiting until it returns, so that a destructor running meanwhile (on another
  // thread) outlives it.
  ++waiting_;
  struct Leave {
    DataLoader& l;
    ~Leave() {
      --l.waiting_;
      l.idle_.notify_all();
    }
  } leave{*this};
  ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
  PTUNER_CHECK(!stopping_, "DataLoader ({}): stopped while next() was waiting for a batch",
               options_.path);
  Made m = std::move(queue_.front());
  queue_.pop_front();
  space_.notify_one();
  if (m.error) {
    error_ = m.error;
    std::rethrow_exception(error_);
  }
  return take(std::move(m));
}

void DataLoader::stop_producer() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  space_.notify_all();
  if (producer_.joinable()) producer_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  queue_.clear();
  error_ = nullptr;
}

void DataLoader::seek(const LoaderPosition& pos) {
  stop_producer();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
  }
  source_->seek(pos);
  position_ = source_->position();
  skipped_ = source_->skipped();
}

}  // namespace ptuner::data
