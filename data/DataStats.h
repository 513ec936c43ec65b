#pragma once
// What a data file gives when a TaskReader reads it: records, examples, malformed records, and
// the distribution of input and target lengths, in tokens (with the EOS the loader appends) when
// a tokenizer is given, else in characters (code points). Backs `ptuner data stats`.
//
// Percentiles are nearest-rank: p_q = the ceil(q/100 * n)-th smallest length (1-based), so p50
// of {1, 2, 3, 4} is 2 and p100 is the maximum; all 0 when there is no example.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "data/TaskReader.h"
#include "data/Tokenizer.h"

namespace ptuner::data {

struct LengthSummary {
  int64_t p50 = 0, p90 = 0, p99 = 0, max = 0;
  double mean = 0;
};

class DataStats {
 public:
  // Reads `reader` to the end (from where it stands). tokenizer may be null.
  static DataStats collect(TaskReader& reader, const Tokenizer* tokenizer);
  static LengthSummary summarize(std::vector<int64_t> lengths);

  std::string task;
  std::string path;
  std::string unit;  // "tokens" or "characters"
  int64_t records = 0;
  int64_t examples = 0;
  int64_t malformed = 0;
  std::vector<std::string> malformed_reasons;  // "path:line: reason", the first 10
  LengthSummary inputs, targets;

  nlohmann::json to_json() const;
  // A few aligned lines for people; at most `max_reasons` malformed reasons.
  std::string to_text(size_t max_reasons = 5) const;
};

}  // namespace ptuner::data
