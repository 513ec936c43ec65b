#pragma once
// The batches of a multi-task mixture (SPoT source prompts, T5 multi-task training): several
// (task, file) sources, each its own endless ExampleStream (its own epochs; its shuffle seeded
// from (seed, epoch, "srce", i)), mixed example by example.
//
// Mixing: with rates r_i (data/MixingRates.h; n_i counted by one pass over each file at
// construction), mixture example k comes from source i where u_k < r_0 + ... + r_i, u_k the k-th
// uniform_unit draw of a std::mt19937_64 seeded from (seed, 0, "mixx"): one draw per example, so
// the generator's state after k examples is the seeded one advanced by k. The source then gives
// its next example (starting its next epoch when the last one is used up, so a small source
// repeats and a large one may never finish an epoch).
//
// The mixture is one endless stream, cut into global batches and DP slices as one task's stream
// is (data/TaskBatchSource.h), with no epoch end: position.epoch stays 0 and batches_in_epoch
// counts global batches. Length bucketing: windows of W mixture examples (W = shuffle_buffer
// rounded up to S = batch_size * dp_size * batches_per_step) arranged by LengthBucketing, the
// chunk order of window w drawn from a generator seeded from (seed, w, "bukt", "mixx").
//
// Position: the global batches taken, and at the start of the window holding the next example
// (at the next example without bucketing) the mixing draws and each source's (epoch, examples
// taken in it). seek() restores the sources and the generator from it, refills that window and
// skips into it, so the batches after seek(p) are exactly those after reaching p.
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <random>
#include <vector>

#include "data/BatchSource.h"
#include "data/ExampleStream.h"
#include "data/LoaderOptions.h"
#include "data/ParallelTokenizer.h"
#include "data/Tokenizer.h"

namespace ptuner::data {

class MixtureBatchSource : public BatchSource {
 public:
  // Opens every source (naming a missing file or an unknown task), counts its examples (a file
  // with none is an error naming it) and computes the rates.
  MixtureBatchSource(const LoaderOptions& options, const Tokenizer& tokenizer);

  std::vector<TokenizedExample> next() override;
  LoaderPosition position() const override;
  // Throws when the position was not made by a mixture of as many sources, or is inconsistent
  // (its draws do not match its batches).
  void seek(const LoaderPosition& pos) override;
  // Summed over the sources (each counted in full when the rates were computed).
  int64_t skipped() const override;
  // With bucketing: draws and tokenizes up to one window of the upcoming mixture examples (a
  // piece per call); position() still describes the examples next() has used.
  bool work_ahead() override;

  const std::vector<double>& rates() const { return rates_; }
  const std::vector<int64_t>& counts() const { return counts_; }

 private:
  using Indexed = ExampleStream::Indexed;

  // The next mixture example and its source (advancing the generator and that source's
  // stream); returns that source's (epoch, taken) after it.
  LoaderPosition::Source draw(Indexed& out, int64_t& source);
  // Counts an example drawn from `source` as used by the batches.
  void use(int64_t source, const LoaderPosition::Source& after);
  void fill_window();
  LoaderPosition current() const;  // the used draws and sources, batches_ taken

  LoaderOptions options_;
  ParallelTokenizer tokenizer_;
  std::vector<std::unique_ptr<ExampleStream>> sources_;
  std::vector<int64_t> counts_;
  std::vector<double> rates_;
  std::vector<double> cumulative_;  // r_0 + ... + r_i, the last exactly 1
  std::mt19937_64 mix_rng_;
  std::mt19937_64 bucket_rng_;
  int64_t used_draws_ = 0;                          // draws used by the batches so far
  std::vector<LoaderPosition::Source> used_sources_;  // each source's position after them
  int64_t batches_ = 0;
  int64_t global_ = 0;           // batch_size * dp_size
  int64_t window_examples_ = 0;  // W
  std::vector<TokenizedExample> window_;
  size_t window_pos_ = 0;
  LoaderPosition window_start_;  // current() when window_ was filled

  struct Ahead {  // an upcoming mixture example, drawn and tokenized by work_ahead()
    TokenizedExample tokens;
    int64_t source = 0;
    LoaderPosition::Source after;
  };
  std::deque<Ahead> ahead_;
  std::exception_ptr ahead_error_;
};

}  // namespace ptuner::data
