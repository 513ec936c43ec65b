#pragma once
// Helpers shared by the reader and format tests: draining a reader, reading a fixture file as a
// task, and the message a format gives for a malformed line.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "data/MalformedRecord.h"
#include "data/TaskFormat.h"
#include "data/TaskReader.h"

namespace ptuner::data::reader_testing {

inline std::string fixture(const std::string& file) { return std::string(PTUNER_FIXTURES) + "/data/" + file; }

// Every example a reader (JsonlReader, TaskReader) gives; `lines` receives each one's line.
template <typename Reader>
std::vector<TextToTextExample> drain(Reader& r, std::vector<int64_t>* lines = nullptr) {
  std::vector<TextToTextExample> out;
  TextToTextExample ex;
  while (r.next(ex)) {
    out.push_back(ex);
    if (lines) lines->push_back(r.line());
  }
  return out;
}

// tests/fixtures/data/<file> read as `task`.
inline std::vector<TextToTextExample> read_all(const std::string& task, const std::string& file,
                                               bool task_prefix = false, bool is_training = false,
                                               OnError policy = OnError::Fail, std::vector<int64_t>* lines = nullptr) {
  auto r = TaskReader::open(task, fixture(file), policy, task_prefix, is_training);
  return drain(*r, lines);
}

// The MalformedRecord message `f` gives for `line` ("" if it parses); nothing may be emitted.
inline std::string reason_of(TaskFormat& f, const std::string& line) {
  std::vector<TextToTextExample> out;
  try {
    f.parse(line, true, out);
  } catch (const MalformedRecord& e) {
    EXPECT_TRUE(out.empty());
    return e.what();
  }
  return "";
}

}  // namespace ptuner::data::reader_testing
