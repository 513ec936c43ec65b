#pragma once
// One text-to-text example as T5 sees it: the encoder reads `inputs`, the decoder is trained to
// write `targets`. Readers and tasks produce these; the loader tokenizes them.
#include <string>
#include <vector>

namespace ptuner::data {

struct TextToTextExample {
  std::string inputs;
  std::string targets;
  // Every gold answer, for metrics (exact match against any of them). Readers fill it with
  // {targets} when the record names no other answers.
  std::vector<std::string> answers;
  // The record's own id where it has one ("" otherwise).
  std::string id;
};

}  // namespace ptuner::data
