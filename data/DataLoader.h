#pragma once
// Deterministic, resumable, data-parallel training loader: this DP rank's collated batches of
// one task's file (data/TaskBatchSource.h: epochs, shuffling, DP slicing, length bucketing) or
// of a multi-task mixture (data/MixtureBatchSource.h).
//
// Prefetching (options.prefetch = K > 0): a producer thread, started by the first next() (and
// again by the first next() after a seek), makes the batches (reading, shuffling, tokenizing,
// bucketing, collating) into a queue of at most K batches; while the queue is full it reads and
// tokenizes ahead (BatchSource::work_ahead: with bucketing, up to the next window, so that a
// window's tokenization does not fall due in one burst), and waits when there is nothing left
// to do. next() pops, waiting while the queue is empty. The producer runs the same code as next() does without
// prefetching (K = 0), so the batch sequence is the same for any K. position() and skipped()
// describe the batches next() has returned, not those made ahead; seek() stops the producer,
// drops what it made, seeks on the caller's thread and lets the next next() start it again. An
// error while making a batch (a malformed record under OnError::Fail, an epoch shorter than one
// global batch) is thrown by the next() that would have returned that batch, and by every
// next() after it until a seek(). The destructor stops the producer, also when it waits on a
// full queue (when it is making a batch, after that batch).
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "data/Batch.h"
#include "data/BatchSource.h"
#include "data/Collator.h"
#include "data/LoaderOptions.h"
#include "data/LoaderPosition.h"
#include "data/Tokenizer.h"

namespace ptuner::data {

// Real tokens against tokens in the padded batches next() returned on this rank.
struct PaddingStats {
  int64_t input_tokens = 0;   // attention_mask == 1
  int64_t input_slots = 0;    // sum of B * S
  int64_t target_tokens = 0;  // labels != -100
  int64_t target_slots = 0;   // sum of B * T
  double input_efficiency() const { return ratio(input_tokens, input_slots); }
  double target_efficiency() const { return ratio(target_tokens, target_slots); }
  // (input + target tokens) / (input + target slots); 1 before any batch.
  double efficiency() const { return ratio(input_tokens + target_tokens, input_slots + target_slots); }

 private:
  static double ratio(int64_t a, int64_t b) {
    return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 1.0;
  }
};

class DataLoader {
 public:
  // Checks the options and that the data can fill one global batch (on the caller's thread).
  // The tokenizer is copied (copies share the model).
  DataLoader(const LoaderOptions& options, const Tokenizer& tokenizer);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // This rank's next micro-batch of batch_size examples.
  Batch next();

  // After the batches next() returned.
  LoaderPosition position() const { return position_; }
  // Throws when `pos` lies past the end of its epoch or does not fit this loader's data.
  void seek(const LoaderPosition& pos);

  // Malformed records skipped in one pass over the file (OnError::Skip), as of the batches
  // next() returned: the same as without prefetching. (After a seek() it may also count those
  // in batches that were made ahead and dropped, until a full pass makes both the file's count.)
  int64_t skipped() const { return skipped_; }
  const LoaderOptions& options() const { return options_; }
  // Padding of the batches next() returned since construction (seek() does not reset it).
  const PaddingStats& padding() const { return padding_; }
  // Batches made ahead and waiting in the queue (0 without prefetching).
  int64_t prefetched() const;
  // A mixture's rates and its sources' example counts, in options().mixture order (empty for
  // one task).
  const std::vector<double>& mixture_rates() const { return rates_; }
  const std::vector<int64_t>& mixture_counts() const { return counts_; }

 private:
  struct Made {
    Batch batch;
    LoaderPosition after;  // the source's position after this batch
    int64_t skipped = 0;   // the source's skipped() after this batch
    std::exception_ptr error;
  };

  Made make();  // the next batch from source_, on the calling thread
  Batch take(Made made);
  void produce();
  void stop_producer();

  LoaderOptions options_;
  Collator collator_;
  std::unique_ptr<BatchSource> source_;
  PaddingStats padding_;
  LoaderPosition position_;
  int64_t skipped_ = 0;
  std::vector<double> rates_;
  std::vector<int64_t> counts_;

  // Prefetching: the queue and the producer's state, guarded by mutex_.
  mutable std::mutex mutex_;
  std::condition_variable ready_;  // a batch was queued, or stopping
  std::condition_variable space_;  // the queue has room, or stopping
  std::condition_variable idle_;   // no next() is waiting any more
  std::deque<Made> queue_;
  bool stopping_ = false;
  int waiting_ = 0;                // next() calls waiting on ready_
  std::exception_ptr error_;       // the producer's error, once next() has reached it
  std::thread producer_;
};

}  // namespace ptuner::data
