#pragma once
// One task file read as training reads it, one epoch at a time. Epoch e reads the file from the
// top; when shuffling, the examples pass a streaming shuffle buffer of `buffer` examples driven
// by a std::mt19937_64 seeded from (seed, e, tags) (data/StreamRandom.h): keep the buffer full
// while the file lasts, emit a uniformly chosen element, move the last one into its slot. Memory
// stays bounded by the buffer however large the file. Without shuffling the stream is the file
// order. Each example carries its dataset index (file order of the examples).
#include <cstdint>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "data/TaskReader.h"
#include "data/TextToTextExample.h"

namespace ptuner::data {

class ExampleStream {
 public:
  using Indexed = std::pair<int64_t, TextToTextExample>;  // (dataset index, example)

  // Starts epoch 0. `tags` are extra seed words (none for a single-task loader).
  ExampleStream(std::unique_ptr<TaskReader> reader, uint64_t seed, bool shuffle, int64_t buffer,
                std::vector<uint32_t> tags = {});

  // Rewinds the file and re-seeds the shuffle for epoch `epoch`.
  void start_epoch(int64_t epoch);
  // The next example of the current epoch; false at its end.
  bool next(Indexed& out);

  int64_t epoch() const { return epoch_; }
  // Examples next() returned in the current epoch.
  int64_t taken() const { return taken_; }
  // Malformed records skipped (OnError::Skip) in one pass over the file: the most any pass
  // has skipped so far.
  int64_t skipped() const;
  TaskReader& reader() { return *reader_; }
  const TaskReader& reader() const { return *reader_; }

 private:
  bool read_record(Indexed& out);

  std::unique_ptr<TaskReader> reader_;
  uint64_t seed_;
  bool shuffle_;
  size_t buffer_size_;
  std::vector<uint32_t> tags_;
  std::mt19937_64 rng_;
  std::vector<Indexed> buffer_;
  bool reader_done_ = false;
  int64_t next_index_ = 0;  // dataset index of the next record read
  int64_t epoch_ = 0;
  int64_t taken_ = 0;
  int64_t skipped_ = 0;
};

}  // namespace ptuner::data
