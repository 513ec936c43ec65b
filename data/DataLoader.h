#pragma once
// Deterministic, resumable, data-parallel training loader over a text-to-text JSONL file.
//
// The global stream: epoch e reads the file from the top; when shuffling, the records pass a
// streaming shuffle buffer of `shuffle_buffer` records driven by a std::mt19937_64 seeded from
// (seed, e) (memory stays bounded by the buffer, however large the file). The stream is cut
// into global batches of batch_size * dp_size consecutive examples; DP rank r takes the
// contiguous slice [r * batch_size, (r + 1) * batch_size) of each, so the ranks' shares are
// disjoint and together make the global batch. An epoch's last, partial global batch is
// dropped (every step sees full batches), and next() goes on into epoch e + 1 forever.
//
// Position = (epoch, global batches taken in that epoch), the same on every rank. seek()
// re-seeds and skips deterministically, so the batches after seek(p) are exactly those an
// uninterrupted loader gives after reaching p.
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "data/Batch.h"
#include "data/Collator.h"
#include "data/JsonlReader.h"
#include "data/OnError.h"
#include "data/TextToTextExample.h"
#include "data/Tokenizer.h"

namespace ptuner::data {

struct LoaderOptions {
  std::string path;
  int64_t batch_size = 0;  // per DP rank micro-batch
  int64_t max_input_len = 0;
  int64_t max_target_len = 0;
  uint64_t seed = 0;
  bool shuffle = true;
  int64_t shuffle_buffer = 10000;  // records held for shuffling
  int dp_rank = 0;
  int dp_size = 1;
  OnError on_error = OnError::Fail;
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

 private:
  using Indexed = std::pair<int64_t, TextToTextExample>;  // (dataset index, example)

  void start_epoch(int64_t epoch);
  bool read_record(Indexed& out);
  bool next_example(Indexed& out);
  // Takes the next global batch from the stream and keeps this rank's slice in `mine` (when
  // not null); false, taking nothing usable, when the epoch has no full global batch left.
  bool next_global_batch(std::vector<Indexed>* mine);
  [[noreturn]] void fail_short_epoch() const;

  LoaderOptions options_;
  Tokenizer tokenizer_;
  Collator collator_;
  JsonlReader reader_;
  std::mt19937_64 rng_;
  std::vector<Indexed> buffer_;  // shuffle buffer
  bool reader_done_ = false;
  int64_t next_index_ = 0;  // dataset index of the next record read
  int64_t epoch_ = 0;
  int64_t batches_in_epoch_ = 0;
  int64_t examples_in_epoch_ = 0;  // taken from the stream this epoch
  int64_t skipped_ = 0;
};

}  // namespace ptuner::data
