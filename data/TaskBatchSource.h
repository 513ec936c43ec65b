#pragma once
// The batches of one task's data file (any TaskReader task; "jsonl" = text-to-text JSONL), read
// as for training.
//
// The global stream: epoch e is the ExampleStream's epoch e (the file from the top through a
// streaming shuffle seeded from (seed, e)). It is cut into global batches of
// batch_size * dp_size consecutive examples; DP rank r takes the contiguous slice
// [r * batch_size, (r + 1) * batch_size) of each, so the ranks' shares are disjoint and together
// make the global batch. An epoch's last, partial global batch is dropped (every step sees full
// batches), and next() goes on into epoch e + 1 forever.
//
// Length bucketing (bucket_by_length): with S = batch_size * dp_size * batches_per_step (the
// examples of one optimizer step), the stream above is cut into windows of W examples, W =
// shuffle_buffer rounded up to a multiple of S. Each window is arranged by LengthBucketing with
// the chunk order drawn from a second std::mt19937_64 seeded from (seed, e, "bukt") (kept in
// order without shuffling); an epoch's last window may end in a partial chunk, emitted last.
// Each global batch thus holds examples of similar input length (little padding) and the
// bucketed stream replaces the plain one in everything else above. With batches_per_step = the
// optimizer's gradient-accumulation steps, the examples of every step are the same whatever
// dp_size (S is the step's batch). Every rank tokenizes the whole window (all ranks must agree
// on the order); memory grows by one window of token ids.
//
// Position = (epoch, global batches taken in that epoch), the same on every rank. seek()
// re-seeds and skips deterministically (whole windows skipped while seeking are read but not
// tokenized).
#include <cstdint>
#include <deque>
#include <exception>
#include <random>
#include <vector>

#include "data/BatchSource.h"
#include "data/ExampleStream.h"
#include "data/LoaderOptions.h"
#include "data/ParallelTokenizer.h"
#include "data/Tokenizer.h"

namespace ptuner::data {

class TaskBatchSource : public BatchSource {
 public:
  // Checks that the file holds at least one global batch ("data file X holds no examples"
  // otherwise); the DataLoader has checked the options.
  TaskBatchSource(const LoaderOptions& options, const Tokenizer& tokenizer);

  // Throws when an epoch holds fewer examples than one global batch.
  std::vector<TokenizedExample> next() override;
  LoaderPosition position() const override { return {epoch_, batches_in_epoch_}; }
  // Throws when `pos` lies past the end of its epoch or carries mixture sources.
  void seek(const LoaderPosition& pos) override;
  // As of the examples next() has used (not those read ahead by work_ahead()).
  int64_t skipped() const override;
  // With bucketing: reads and tokenizes up to one window of the upcoming examples of this epoch
  // (a piece per call), so that the window's tokenization is spread over the time a prefetching
  // DataLoader would otherwise sit on its full queue instead of falling due in one burst; a
  // read error is kept and thrown when fill_window reaches it.
  bool work_ahead() override;

 private:
  using Indexed = ExampleStream::Indexed;

  void start_epoch(int64_t epoch);
  // stream_.next() noting the malformed records skipped so far.
  bool read(Indexed& out);
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
  ParallelTokenizer tokenizer_;
  ExampleStream stream_;
  std::mt19937_64 bucket_rng_;                // chunk order of the bucketing windows
  std::vector<TokenizedExample> window_;      // the current window, in emission order
  size_t window_pos_ = 0;
  int64_t step_examples_ = 0;                 // S
  int64_t window_examples_ = 0;               // W
  int64_t epoch_ = 0;
  int64_t batches_in_epoch_ = 0;
  int64_t examples_in_epoch_ = 0;  // taken from the global stream this epoch
  int64_t seen_skipped_ = 0;       // the reader's skipped() as of the last example used
  int64_t epochs_skipped_ = 0;     // the most seen_skipped_ reached in earlier passes

  struct Ahead {  // an upcoming example of this epoch, tokenized by work_ahead()
    TokenizedExample tokens;
    int64_t skipped = 0;  // the reader's skipped() right after reading it
  };
  std::deque<Ahead> ahead_;
  bool ahead_end_ = false;         // work_ahead() reached the end of the epoch
  std::exception_ptr ahead_error_;
};

}  // namespace ptuner::data
