#pragma once
// Extractive-QA metrics as the SQuAD v1.1 / MRQA 2019 official evaluation scripts (and T5's
// qa_utils) compute them, in [0, 1].
//
// normalize(s): lowercase (utf8::lower), delete ASCII punctuation (Python's string.punctuation,
// !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~), replace the whole words a / an / the by a space (a word
// is a maximal run of letters, digits, '_' and non-ASCII bytes, like \b in Python's regex), then
// split on whitespace and join with single spaces.
//   EM(p, g) = [normalize(p) == normalize(g)]
//   F1(p, g) = 2 P R / (P + R) with P = c / |tokens(p)|, R = c / |tokens(g)|, c = size of the
//              multiset intersection of the whitespace tokens of normalize(p) and
//              normalize(g); 0 when c = 0 (so also when either side normalises to "").
// Over several gold answers each score takes its maximum.
#include <string>
#include <vector>

namespace ptuner::data::squad {

std::string normalize(const std::string& text);
double exact_match(const std::string& prediction, const std::string& gold);
double f1(const std::string& prediction, const std::string& gold);
// max over `golds`; 0 when there is none.
double max_exact_match(const std::string& prediction, const std::vector<std::string>& golds);
double max_f1(const std::string& prediction, const std::vector<std::string>& golds);

}  // namespace ptuner::data::squad
