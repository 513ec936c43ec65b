#pragma once
// The task-free text-to-text JSONL ("jsonl" task): one object per line,
//   {"inputs": "...", "targets": "...", "answers": ["...", ...], "id": "..."}
// with "answers" (strings) and "id" (string or integer) optional; answers default to {targets}.
#include "data/TaskFormat.h"

namespace ptuner::data {

class TextToTextFormat : public TaskFormat {
 public:
  bool parse(const std::string& line, bool first, std::vector<TextToTextExample>& out) override;

  // The record -> `ex`; "" or the reason it is malformed.
  static std::string to_example(const std::string& line, TextToTextExample& ex);
};

}  // namespace ptuner::data
