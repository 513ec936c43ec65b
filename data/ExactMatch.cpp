#include "data/ExactMatch.h"

#include <algorithm>
#include <string_view>

#include "dist/Check.h"

namespace ptuner::data {

namespace {

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\r\f\v";
  const size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(kSpace);
  return s.substr(b, e - b + 1);
}

}  // namespace

double exact_match(const std::vector<std::string>& predictions,
                   const std::vector<std::vector<std::string>>& answers) {
  PTUNER_CHECK(predictions.size() == answers.size(),
               "exact_match: {} predictions but {} answer lists", predictions.size(),
               answers.size());
  if (predictions.empty()) return 0.0;
  size_t hits = 0;
  for (size_t i = 0; i < predictions.size(); ++i) {
    const std::string_view p = trim(predictions[i]);
    const auto& gold = answers[i];
    if (std::any_of(gold.begin(), gold.end(), [&](const std::string& a) { return trim(a) == p; }))
      ++hits;
  }
  return static_cast<double>(hits) / static_cast<double>(predictions.size());
}

}  // namespace ptuner::data
