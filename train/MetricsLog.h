#pragma once
// metrics.jsonl in the run directory: one JSON object per line ({"step": …, "loss": …, …}).
// Each line is appended by one write and checked: a failed or short write (a full disk) is
// undone (the file is cut back to its last whole line) and reported with the OS reason.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ptuner::train {

// The records of a metrics file, in file order (blank lines skipped).
// A line that is not a JSON object with an integer "step" is an error naming the file and line,
// except the last, which a crash or a kill may have cut short: that one is dropped with a
// warning. A missing file holds no records. What MetricsLog keeps on resume and what `ptuner
// report` reads.
struct MetricsRecord {
  nlohmann::json json;
  std::string text;  // the line as written
};
std::vector<MetricsRecord> read_metrics_records(const std::string& path);

class MetricsLog {
 public:
  // Opens for appending; with keep_up_to_step ≥ 0, first drops lines of later steps (a resumed
  // run re-logs the steps after its checkpoint), read by read_metrics_records.
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
