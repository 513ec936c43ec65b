#pragma once
// Where a DataLoader stands in its stream, the same on every DP rank: what a checkpoint stores so
// that a resumed run gets exactly the batches an uninterrupted one would.
#include <cstdint>

namespace ptuner::data {

struct LoaderPosition {
  LoaderPosition(int64_t epoch_ = 0, int64_t batches_in_epoch_ = 0)
      : epoch(epoch_), batches_in_epoch(batches_in_epoch_) {}

  int64_t epoch = 0;
  int64_t batches_in_epoch = 0;  // global batches already taken in `epoch`

  bool operator==(const LoaderPosition& o) const {
    return epoch == o.epoch && batches_in_epoch == o.batches_in_epoch;
  }
};

}  // namespace ptuner::data
