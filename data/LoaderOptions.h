#pragma once
// What a DataLoader reads and how (data/DataLoader.h describes the stream).
#include <cstdint>
#include <string>
#include <vector>

#include "data/OnError.h"

namespace ptuner::data {

// One task's file in a multi-task mixture.
struct MixtureSource {
  std::string task;   // a TaskSpec name (data/Task.h)
  std::string path;
  double rate = 0;    // > 0: this explicit weight; 0: from the example count and the mixing rule
};

struct LoaderOptions {
  std::string path;
  std::string task = "jsonl";  // a TaskSpec name (data/Task.h): how to read `path`
  bool task_prefix = false;    // keep T5's leading task name in the inputs
  int64_t batch_size = 0;  // per DP rank micro-batch
  int64_t max_input_len = 0;
  int64_t max_target_len = 0;
  uint64_t seed = 0;
  bool shuffle = true;
  int64_t shuffle_buffer = 10000;  // records held for shuffling; also the bucketing window
  // Off here so that existing callers keep their batches; training configs turn it on (and
  // should set batches_per_step to their gradient-accumulation steps).
  bool bucket_by_length = false;
  int64_t batches_per_step = 1;  // global batches per optimizer step (grad_accum)
  int dp_rank = 0;
  int dp_size = 1;
  OnError on_error = OnError::Fail;

  // Batches a background thread makes ahead of next() (reading, shuffling, tokenizing,
  // bucketing, collating); 0: next() makes each on the caller's thread. The batches are the
  // same either way.
  int64_t prefetch = 4;
  // Threads that tokenize a bucketing window (or a batch without bucketing); 1: the thread
  // making the batch alone. The batches do not depend on it.
  int tokenizer_threads = 1;

  // A multi-task mixture (SPoT source training) instead of path / task when not empty: see
  // data/MixtureBatchSource.h.
  std::vector<MixtureSource> mixture;
  std::string mixing = "proportional";  // proportional | temperature
  int64_t mixing_cap = int64_t{1} << 19;  // K: a source counts min(n, K) examples
  double mixing_temperature = 1.0;       // T: rates ∝ min(n, K)^(1/T) ("temperature" only)
};

}  // namespace ptuner::data
