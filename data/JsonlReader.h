#pragma once
// Streaming reader of text-to-text JSONL: one object per line,
//   {"inputs": "...", "targets": "...", "answers": ["...", ...], "id": "..."}
// with "answers" (strings) and "id" (string or integer) optional; blank lines are skipped.
// Plain or gzip (recognised by the magic bytes 1f 8b, not the name). Reads one line at a time,
// of any length; never the whole file.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/LineReader.h"
#include "data/MalformedLog.h"
#include "data/OnError.h"
#include "data/TextToTextExample.h"

namespace ptuner::data {

class JsonlReader {
 public:
  // Throws ptuner::Error naming `path` when it is missing or unreadable.
  JsonlReader(const std::string& path, OnError policy);
  ~JsonlReader();
  JsonlReader(JsonlReader&&) noexcept;
  JsonlReader& operator=(JsonlReader&&) noexcept;

  // Next well-formed record; false at the end of the file. A malformed line (broken JSON, not
  // an object, "inputs" / "targets" missing or not strings, bad "answers" / "id") throws
  // "path:line: reason" under OnError::Fail; under OnError::Skip it is counted, its reason kept
  // and logged, and reading goes on. A damaged gzip stream always throws.
  bool next(TextToTextExample& out);

  // 1-based line number of the record last returned (0 before the first).
  int64_t line() const { return record_line_; }
  // Malformed lines skipped since the start (or the last rewind()).
  int64_t skipped() const { return malformed_.count(); }
  // "path:line: reason" of the first 10 of them.
  const std::vector<std::string>& skip_reasons() const { return malformed_.reasons(); }
  bool compressed() const { return lines_.compressed(); }
  const std::string& path() const { return lines_.path(); }

  // Back to the first line; counters start again (records already logged are not logged again).
  void rewind();

 private:
  LineReader lines_;
  MalformedLog malformed_;
  int64_t record_line_ = 0;
};

}  // namespace ptuner::data
