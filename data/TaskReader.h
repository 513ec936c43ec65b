#pragma once
// Streams the examples of one task's data file, record by record, as T5 formats them (see the
// TaskFormat subclasses for each layout). Plain or gzip files alike (LineReader); blank lines
// are skipped; one record may give several examples (MultiRC: one per answer, ReCoRD when
// training: one per answer) or none (WSC negatives when training).
//
// Errors: an unknown task lists the known ones; a missing file is named; a malformed record is
// "path:line: reason", thrown (OnError::Fail) or counted and skipped (OnError::Skip) as in
// JsonlReader; a pass over the file that gives no example at all throws
// "data file 'path' holds no examples[ (N malformed records skipped)]".
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "data/LineReader.h"
#include "data/MalformedLog.h"
#include "data/OnError.h"
#include "data/Task.h"
#include "data/TaskFormat.h"
#include "data/TextToTextExample.h"

namespace ptuner::data {

class TaskReader {
 public:
  // task_prefix: keep T5's leading task name in the inputs ("boolq passage: ..."); false drops
  // it (Lester et al.). is_training: unlabeled rows are malformed, ReCoRD gives one example per
  // answer, WSC keeps positives only.
  static std::unique_ptr<TaskReader> open(const std::string& task, const std::string& path,
                                          OnError policy, bool task_prefix, bool is_training);

  TaskReader(const TaskSpec& spec, const std::string& path, OnError policy, bool task_prefix,
             bool is_training);

  // The next example; false at the end of the file.
  bool next(TextToTextExample& out);

  // 1-based line of the record that gave the example last returned (0 before the first).
  int64_t line() const { return record_line_; }
  // Malformed records skipped in this pass, and "path:line: reason" of the first 10.
  int64_t skipped() const { return malformed_.count(); }
  // Of those, the records skipped for lacking a label (training reads only; see UnlabeledRecord).
  int64_t unlabeled() const { return unlabeled_; }
  const std::vector<std::string>& skip_reasons() const { return malformed_.reasons(); }
  // Well-formed records read in this pass (header lines not counted).
  int64_t records() const { return records_; }
  // Examples returned in this pass.
  int64_t examples() const { return examples_; }

  const TaskSpec& spec() const { return spec_; }
  const std::string& path() const { return lines_.path(); }
  bool compressed() const { return lines_.compressed(); }

  // Back to the first line; counters start again.
  void rewind();

 private:
  TaskSpec spec_;
  LineReader lines_;
  MalformedLog malformed_;
  std::unique_ptr<TaskFormat> format_;
  std::deque<TextToTextExample> pending_;  // examples of the current record not yet returned
  bool seen_first_ = false;
  int64_t record_line_ = 0;
  int64_t pending_line_ = 0;
  int64_t records_ = 0;
  int64_t examples_ = 0;
  int64_t unlabeled_ = 0;
};

}  // namespace ptuner::data
