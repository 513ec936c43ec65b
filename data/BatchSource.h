#pragma once
// The deterministic sequence of one DP rank's batches, before collation: what a DataLoader
// draws from, on its caller's thread or on its producer thread (never on both at once).
#include <cstdint>
#include <vector>

#include "data/Batch.h"
#include "data/LoaderPosition.h"

namespace ptuner::data {

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  // This rank's examples of the next global batch (batch_size of them).
  virtual std::vector<TokenizedExample> next() = 0;
  // After the batches next() has returned.
  virtual LoaderPosition position() const = 0;
  // The batches after seek(p) are those an uninterrupted source gives after reaching p.
  virtual void seek(const LoaderPosition& pos) = 0;
  // Malformed records skipped (OnError::Skip) in one pass over a file (summed over a
  // mixture's files).
  virtual int64_t skipped() const = 0;
  // Does a bounded piece of the work later next() calls will need (reading and tokenizing
  // upcoming examples) without changing what they return; false when there is none to do. A
  // prefetching DataLoader calls it while its queue is full. Never throws.
  virtual bool work_ahead() { return false; }
};

}  // namespace ptuner::data
