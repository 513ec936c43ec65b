#pragma once
// The metrics of GLUE's STS-B as T5 computes them (t5/evaluation/metrics.py), in [-1, 1] (T5
// reports 100x).
//
//   pearson        scipy's pearsonr(gold, predictions) of the strings as numbers (T5's
//                  string_to_float: a prediction that is not a number is -1).
//   spearman       Pearson's r of the ranks, ties given their average rank (scipy's
//                  spearmanr).
// Both correlations are 0 (not NaN) when either side is constant or there are fewer than two
// pairs: scipy warns and gives NaN there, which no metrics file or best-checkpoint choice can hold.
#include <string>
#include <vector>

namespace ptuner::data {

// Throw when the sizes differ.
double pearson(const std::vector<double>& x, const std::vector<double>& y);
double spearman(const std::vector<double>& x, const std::vector<double>& y);

// T5's string_to_float: the trimmed text as a number (Python float(): decimal or exponent form,
// "inf"/"nan" not accepted here), else `otherwise`.
double string_to_float(const std::string& text, double otherwise = -1.0);

}  // namespace ptuner::data
