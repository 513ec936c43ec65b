#pragma once
// Deterministic, resumable, data-parallel training loader over one task's data file (any
// TaskReader task; "jsonl" = text-to-text JSONL), read as for training.
//
// The global stream: epoch e reads the file from the top; when shuffling, the records pass a
// streaming shuffle buffer of `shuffle_buffer` records driven by a std::mt19937_64 seeded from
// (seed, e) (memory stays bounded by the buffer, however large the file). The stream is cut
// into global batches of batch_size * dp_size consecutive examples; DP rank r takes the
// contiguous slice [r * batch_size, (r + 1) * batch_size) of each, so the ranks' shares are
// disjoint and together make the global batch. An epoch's last, partial global batch is
// dropped (every step sees full batches), and next() goes on into epoch e + 1 forever.
//
// Length bucketing (bucket_by_length): with S = batch_size * dp_size * batches_per_step (the
// examples of one optimizer step), the stream above is cut into windows of W examples, W =
// shuffle_buffer rounded up to a multiple of S. A window's examples are tokenized and sorted by
// (input length, target length) after truncation (stable: ties keep stream order), cut into
// chunks of S consecutive examples, and the chunks emitted in an order drawn by Fisher-Yates from
// a second std::mt19937_64 seeded from (seed, e, tag) (kept in order without shuffling); an
// epoch's last window may end in a partial chunk, emitted last. Each global batch thus holds
// examples of similar input length (little padding) and the bucketed stream replaces the plain
// one in everything else above. With batches_per_step = the optimizer's gradient-accumulation
// steps, the examples of every step are the same whatever dp_size (S is the step's batch).
// Every rank tokenizes the whole window (all ranks must agree on the order); memory grows by
// one window of token ids.
//
// Position = (epoch, global batches taken in that epoch), the same on every rank. seek()
// re-seeds and skips deterministically, so the batches after seek(p) are exactly those an
// uninterrupted loader gives after reaching p (whole windows skipped while seeking are read but
// not tokenized).
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "data/Batch.h"
#include "data/Collator.h"
#include "data/JsonlReader.h"
#include "data/OnError.h"
#include "data/TaskReader.h"
#include "data/TextToTextExample.h"
#include "data/Tokenizer.h"

namespace ptuner::data {

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
};

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

struct LoaderPosition {
  int64_t epoch = 0;
  int64_t batches_in_epoch = 0;  // global batches already taken in `epoch`
};

class DataLoader {
 public:
  // Checks the options and that the file holds at least one example ("data file X holds no
  // examples" otherwise). The tokenizer is copied (copies share the model).
  DataLoader(const LoaderOptions& options, const Tokenizer& tokenizer);

  // This rank's next micro-batch of batch_size examples. Throws when an epoch holds fewer
  // examples than one global batch.
  Batch next();

  LoaderPosition position() const { return {epoch_, batches_in_epoch_}; }
  // Throws when `pos` lies past the end of its epoch.
  void seek(const LoaderPosition& pos);

  // Malformed records skipped in one pass over the file (OnError::Skip).
  int64_t skipped() const;
  const LoaderOptions& options() const { return options_; }
  // Padding of the batches next() returned since construction (seek() does not reset it).
  const PaddingStats& padding() const { return padding_; }

 private:
  using Indexed = std::pair<int64_t, TextToTextExample>;  // (dataset index, example)

  void start_epoch(int64_t epoch);
  bool read_record(Indexed& out);
  bool next_example(Indexed& out);
  TokenizedExample tokenize(const Indexed& ex) const;
  // Reads the next window of the stream; when `skip` covers all of it, only draws its chunk
  // order (to keep the generator in step) and leaves window_ empty. Returns its size (0 at the
  // end of the epoch).
  int64_t fill_window(int64_t skip);
  bool next_bucketed(TokenizedExample& out);
  void seek_bucketed(const LoaderPosition& pos);
  // Takes the next global batch from the stream and keeps this rank's slice in `mine` (when
  // not null); false, taking nothing usable, when the epoch has no full global batch left.
  bool next_global_batch(std::vector<TokenizedExample>* mine);
  [[noreturn]] void fail_short_epoch() const;

  LoaderOptions options_;
  Tokenizer tokenizer_;
  Collator collator_;
  std::unique_ptr<TaskReader> reader_;
  std::mt19937_64 rng_;
  std::mt19937_64 bucket_rng_;                // chunk order of the bucketing windows
  std::vector<TokenizedExample> window_;      // the current window, in emission order
  size_t window_pos_ = 0;
  int64_t step_examples_ = 0;                 // S
  int64_t window_examples_ = 0;               // W
  PaddingStats padding_;
  std::vector<Indexed> buffer_;  // shuffle buffer
  bool reader_done_ = false;
  int64_t next_index_ = 0;  // dataset index of the next record read
  int64_t epoch_ = 0;
  int64_t batches_in_epoch_ = 0;
  int64_t examples_in_epoch_ = 0;  // taken from the stream this epoch
  int64_t skipped_ = 0;
};

}  // namespace ptuner::data
