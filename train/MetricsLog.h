#pragma once
// metrics.jsonl in the run directory: one JSON object per line ({"step": …, "loss": …, …}).
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

namespace ptuner::train {

class MetricsLog {
 public:
  // Opens for appending; with keep_up_to_step ≥ 0, first drops lines of later steps (a resumed
  // run re-logs the steps after its checkpoint).
  MetricsLog(const std::string& path, int64_t keep_up_to_step);
  void write(const nlohmann::json& record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

}  // namespace ptuner::train
