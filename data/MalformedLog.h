#pragma once
// The OnError policy of a reader, applied to one malformed record at a time.
//   Fail: throws ptuner::Error "<owner>: malformed record at path:line: reason".
//   Skip: counts it, keeps "path:line: reason" of the first 10, and logs a warning for each of
//         those 10 once per file (a later pass after restart() logs nothing again).
#include <cstdint>
#include <string>
#include <vector>

#include "data/OnError.h"

namespace ptuner::data {

class MalformedLog {
 public:
  static constexpr size_t kMaxKeptReasons = 10;

  MalformedLog(std::string owner, std::string path, OnError policy);

  // Applies the policy to the record at `line` (1-based) of the file.
  void reject(int64_t line, const std::string& reason);

  int64_t count() const { return count_; }
  const std::vector<std::string>& reasons() const { return reasons_; }
  OnError policy() const { return policy_; }

  // A new pass over the file: count and reasons start again.
  void restart();

 private:
  std::string owner_;
  std::string path_;
  OnError policy_;
  int64_t count_ = 0;
  std::vector<std::string> reasons_;
  int64_t logged_ = 0;  // kept across restart()
};

}  // namespace ptuner::data
