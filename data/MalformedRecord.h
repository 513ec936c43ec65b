#pragma once
// Thrown by a task format when one record of a data file is malformed. what() is the bare reason
// ("missing \"label\""); the reader adds "path:line: " and applies its OnError policy. Not a
// ptuner::Error on purpose: it never leaves the readers.
#include <stdexcept>
#include <string>

namespace ptuner::data {

class MalformedRecord : public std::runtime_error {
 public:
  explicit MalformedRecord(const std::string& reason) : std::runtime_error(reason) {}
};

// A record that lacks its label (or answers) where training needs one: a test split's row. The
// reader counts these apart, so that a file of them all can be named as a test split.
class UnlabeledRecord : public MalformedRecord {
 public:
  using MalformedRecord::MalformedRecord;
};

}  // namespace ptuner::data
