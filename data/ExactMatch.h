#pragma once
// Exact match: EM = (1/N) * #{i : trim(prediction_i) == trim(a) for some a in answers_i},
// where trim removes surrounding whitespace. No other normalisation (case, punctuation).
#include <string>
#include <vector>

namespace ptuner::data {

// In [0, 1]; 0 for no predictions. An example with no gold answers counts as a miss. Throws
// when the two lists differ in length, naming both sizes.
double exact_match(const std::vector<std::string>& predictions,
                   const std::vector<std::vector<std::string>>& answers);

}  // namespace ptuner::data
