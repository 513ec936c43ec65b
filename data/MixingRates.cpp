#include "data/MixingRates.h"

#include <algorithm>
#include <cmath>

#include "dist/Check.h"

namespace ptuner::data {

std::vector<double> MixingRates::compute(const std::vector<int64_t>& counts,
                                         const std::vector<double>& weights,
                                         const std::string& mixing, int64_t cap,
                                         double temperature) {
  PTUNER_CHECK(!counts.empty(), "mixing rates: the mixture has no sources");
  PTUNER_CHECK(mixing == "proportional" || mixing == "temperature",
               "mixing rates: unknown mixing '{}' (known: proportional, temperature)", mixing);
  PTUNER_CHECK(cap >= 1, "mixing rates: the cap K must be >= 1, got {}", cap);
  PTUNER_CHECK(temperature > 0, "mixing rates: the temperature must be > 0, got {}", temperature);
  PTUNER_CHECK(mixing == "temperature" || temperature == 1.0,
               "mixing rates: temperature {} applies to \"temperature\" mixing only, not \"{}\"",
               temperature, mixing);
  PTUNER_CHECK(weights.empty() || weights.size() == counts.size(),
               "mixing rates: {} explicit rates for {} sources: give one for every source or none",
               weights.size(), counts.size());
  std::vector<double> r(counts.size());
  for (size_t i = 0; i < counts.size(); ++i) {
    PTUNER_CHECK(counts[i] >= 1, "mixing rates: source {} holds {} examples", i, counts[i]);
    if (!weights.empty()) {
      PTUNER_CHECK(weights[i] > 0 && std::isfinite(weights[i]),
                   "mixing rates: the rate of source {} must be > 0, got {}", i, weights[i]);
      r[i] = weights[i];
    } else {
      r[i] = std::pow(static_cast<double>(std::min(counts[i], cap)), 1.0 / temperature);
    }
  }
  double sum = 0;
  for (const double x : r) sum += x;
  for (double& x : r) x /= sum;
  return r;
}

}  // namespace ptuner::data
