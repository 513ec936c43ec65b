#include "data/DataStats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "data/Utf8.h"
#include "dist/Check.h"

namespace ptuner::data {

LengthSummary DataStats::summarize(std::vector<int64_t> lengths) {
  LengthSummary s;
  if (lengths.empty()) return s;
  std::sort(lengths.begin(), lengths.end());
  const auto n = static_cast<double>(lengths.size());
  auto rank = [&](double q) {
    const auto k = static_cast<int64_t>(std::ceil(q / 100.0 * n));
    return lengths[static_cast<size_t>(std::clamp<int64_t>(k, 1, static_cast<int64_t>(n)) - 1)];
  };
  s.p50 = rank(50);
  s.p90 = rank(90);
  s.p99 = rank(99);
  s.max = lengths.back();
  s.mean = static_cast<double>(std::accumulate(lengths.begin(), lengths.end(), int64_t{0})) / n;
  return s;
}

DataStats DataStats::collect(TaskReader& reader, const Tokenizer* tokenizer) {
  DataStats st;
  st.task = reader.spec().name;
  st.path = reader.path();
  st.unit = tokenizer != nullptr ? "tokens" : "characters";
  auto length = [&](const std::string& text) {
    return tokenizer != nullptr ? static_cast<int64_t>(tokenizer->encode(text).size())
                                : utf8::length(text);
  };
  std::vector<int64_t> in, tgt;
  TextToTextExample ex;
  while (reader.next(ex)) {
    in.push_back(length(ex.inputs));
    tgt.push_back(length(ex.targets));
  }
  st.records = reader.records();
  st.examples = reader.examples();
  st.malformed = reader.skipped();
  st.malformed_reasons = reader.skip_reasons();
  st.inputs = summarize(std::move(in));
  st.targets = summarize(std::move(tgt));
  return st;
}

namespace {

nlohmann::json summary_json(const LengthSummary& s) {
  return {{"p50", s.p50}, {"p90", s.p90}, {"p99", s.p99}, {"max", s.max}, {"mean", s.mean}};
}

}  // namespace

nlohmann::json DataStats::to_json() const {
  return {{"task", task},
          {"file", path},
          {"records", records},
          {"examples", examples},
          {"malformed", malformed},
          {"malformed_reasons", malformed_reasons},
          {"unit", unit},
          {"inputs", summary_json(inputs)},
          {"targets", summary_json(targets)}};
}

std::string DataStats::to_text(size_t max_reasons) const {
  std::string out = fmt::format("task      {}\nfile      {}\nrecords   {}\nexamples  {}\n", task,
                                path, records, examples);
  out += fmt::format("malformed {}\n", malformed);
  for (size_t i = 0; i < malformed_reasons.size() && i < max_reasons; ++i)
    out += "  " + malformed_reasons[i] + "\n";
  if (malformed > static_cast<int64_t>(std::min(max_reasons, malformed_reasons.size())))
    out += "  ...\n";
  out += fmt::format("{:<18}{:>8}{:>8}{:>8}{:>8}{:>10}\n", "length (" + unit + ")", "p50", "p90",
                     "p99", "max", "mean");
  for (const auto& [name, s] : {std::pair{"inputs", inputs}, std::pair{"targets", targets}})
    out += fmt::format("{:<18}{:>8}{:>8}{:>8}{:>8}{:>10.1f}\n", name, s.p50, s.p90, s.p99, s.max,
                       s.mean);
  return out;
}

}  // namespace ptuner::data
