#pragma once
// How one task turns the lines of its data file into text-to-text examples. One subclass per
// file layout (GLUE-style JSONL, MultiRC, ReCoRD, WSC, MRQA, GLUE TSV, plain text-to-text JSONL);
// TaskReader owns the file, the line numbers and the OnError policy.
#include <string>
#include <vector>

#include "data/TextToTextExample.h"

namespace ptuner::data {

class TaskFormat {
 public:
  virtual ~TaskFormat() = default;

  // One non-blank line -> its examples, appended to `out` (a record may give none, e.g. a WSC
  // negative when training, or several, e.g. MultiRC). `first` is true for the first non-blank
  // line of the file. Returns false when the line is a header rather than a record. A malformed
  // record throws MalformedRecord(reason) and leaves `out` unchanged; a problem with the whole
  // file (a TSV header without a needed column) throws ptuner::Error.
  virtual bool parse(const std::string& line, bool first, std::vector<TextToTextExample>& out) = 0;
};

}  // namespace ptuner::data
