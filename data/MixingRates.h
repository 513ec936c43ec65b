#pragma once
// The rates of a multi-task mixture (T5's mixing strategies, Raffel et al. 2020, §3.5.2): with
// n_i the examples of source i and K the cap,
//   proportional:  r_i ∝ min(n_i, K)
//   temperature:   r_i ∝ min(n_i, K)^(1/T)     (T = 1 is proportional; T → ∞ is equal mixing)
// normalised to sum to 1. Explicit weights w_i (all sources, or none) replace the rule: r_i ∝ w_i.
#include <cstdint>
#include <string>
#include <vector>

namespace ptuner::data {

class MixingRates {
 public:
  // mixing: "proportional" or "temperature". counts: n_i >= 1. weights: empty, or one > 0 per
  // source. Throws naming the offending value (an unknown rule, K < 1, T <= 0, a temperature
  // other than 1 with "proportional", weights for some sources only).
  static std::vector<double> compute(const std::vector<int64_t>& counts,
                                     const std::vector<double>& weights, const std::string& mixing,
                                     int64_t cap, double temperature);
};

}  // namespace ptuner::data
