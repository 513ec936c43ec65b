#pragma once
// metrics.jsonl in the run directory: one JSON object per line ({"step": …, "loss": …, …}).
// Each line is appended by one write and checked: a failed or short write (a full disk) is
// undone (the file is cut back to its last whole line) and reported with the OS reason.
#include <nlohmann/json.hpp>

#include <string>

namespace ptuner::train {

class MetricsLog {
 public:
  // Opens for appending; with keep_up_to_step ≥ 0, first drops lines of later steps (a resumed
  // run re-logs the steps after its checkpoint). A line that is not a JSON object with an integer
  // "step" is an error naming the file and line.
  MetricsLog(const std::string& path, int64_t keep_up_to_step);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;
  void write(const nlohmann::json& record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace ptuner::train
