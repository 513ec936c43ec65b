#pragma once
// Where a DataLoader stands in its stream, the same on every DP rank: what a checkpoint stores so
// that a resumed run gets exactly the batches an uninterrupted one would.
#include <cstdint>
#include <vector>

namespace ptuner::data {

struct LoaderPosition {
  LoaderPosition(int64_t epoch_ = 0, int64_t batches_in_epoch_ = 0)
      : epoch(epoch_), batches_in_epoch(batches_in_epoch_) {}

  // One task: epoch and global batches already taken in it. A mixture is one endless stream:
  // epoch 0 and the global batches taken since the start.
  int64_t epoch = 0;
  int64_t batches_in_epoch = 0;

  // Mixtures only (empty `sources` otherwise), the state at the start of the bucketing window
  // that holds the next example (at the next example itself without bucketing):
  struct Source {
    int64_t epoch = 0;  // the source's own epoch
    int64_t taken = 0;  // examples taken from it in that epoch
    bool operator==(const Source& o) const { return epoch == o.epoch && taken == o.taken; }
  };
  int64_t mixture_draws = 0;    // draws of the mixing generator (= mixture examples) so far
  std::vector<Source> sources;  // one per LoaderOptions::mixture entry, in order

  bool operator==(const LoaderPosition& o) const {
    return epoch == o.epoch && batches_in_epoch == o.batches_in_epoch &&
           mixture_draws == o.mixture_draws && sources == o.sources;
  }
};

}  // namespace ptuner::data
