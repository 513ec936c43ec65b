#include "data/ClassificationMetrics.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "data/T5Text.h"
#include "dist/Check.h"

namespace ptuner::data {

namespace {

void check_sizes(const char* what, size_t predictions, size_t gold) {
  PTUNER_CHECK(predictions == gold, "{}: {} predictions but {} gold labels", what, predictions,
               gold);
}

// 2 TP / (2 TP + FP + FN), 0 when nothing was predicted or gold for the class.
double f1_of(double tp, double fp, double fn) {
  const double denominator = 2 * tp + fp + fn;
  return denominator > 0 ? 2 * tp / denominator : 0.0;
}

}  // namespace

double accuracy(const std::vector<std::string>& predictions, const std::vector<std::string>& gold) {
  check_sizes("accuracy", predictions.size(), gold.size());
  if (gold.empty()) return 0.0;
  size_t hits = 0;
  for (size_t i = 0; i < gold.size(); ++i) hits += t5_text::trim(predictions[i]) == gold[i];
  return static_cast<double>(hits) / static_cast<double>(gold.size());
}

double binary_f1(const std::vector<std::string>& predictions, const std::vector<std::string>& gold,
                 const std::string& positive) {
  check_sizes("binary_f1", predictions.size(), gold.size());
  double tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < gold.size(); ++i) {
    const bool gold_positive = gold[i] == positive;
    const std::string p = t5_text::trim(predictions[i]);
    // Legal predictions are the gold's own class or the other one: a prediction that is neither
    // the positive label nor a correct negative is, for F1, the opposite of the gold label.
    const bool predicted_positive = gold_positive ? p == positive : p != gold[i];
    if (predicted_positive && gold_positive) ++tp;
    if (predicted_positive && !gold_positive) ++fp;
    if (!predicted_positive && gold_positive) ++fn;
  }
  return f1_of(tp, fp, fn);
}

double macro_f1(const std::vector<std::string>& predictions, const std::vector<std::string>& gold,
                const std::vector<std::string>& classes) {
  check_sizes("macro_f1", predictions.size(), gold.size());
  PTUNER_CHECK(!classes.empty(), "macro_f1: no classes");
  double sum = 0;
  for (const auto& c : classes) {
    double tp = 0, fp = 0, fn = 0;
    for (size_t i = 0; i < gold.size(); ++i) {
      const bool is_gold = gold[i] == c, is_predicted = t5_text::trim(predictions[i]) == c;
      if (is_gold && is_predicted) ++tp;
      if (!is_gold && is_predicted) ++fp;
      if (is_gold && !is_predicted) ++fn;
    }
    sum += f1_of(tp, fp, fn);
  }
  return sum / static_cast<double>(classes.size());
}

double matthews_corr(const std::vector<std::string>& predictions,
                     const std::vector<std::string>& gold, const std::vector<std::string>& classes) {
  check_sizes("matthews_corr", predictions.size(), gold.size());
  const auto id_of = [&](const std::string& label) {
    const auto it = std::find(classes.begin(), classes.end(), label);
    return it == classes.end() ? -1L : static_cast<long>(it - classes.begin());
  };
  std::map<long, double> predicted, truth;
  double correct = 0;
  for (size_t i = 0; i < gold.size(); ++i) {
    const long p = id_of(t5_text::trim(predictions[i])), t = id_of(gold[i]);
    predicted[p] += 1;
    truth[t] += 1;
    correct += p == t ? 1 : 0;
  }
  const auto s = static_cast<double>(gold.size());
  double pt = 0, pp = 0, tt = 0;
  for (const auto& [k, n] : predicted) {
    pp += n * n;
    if (const auto it = truth.find(k); it != truth.end()) pt += n * it->second;
  }
  for (const auto& [k, n] : truth) tt += n * n;
  const double denominator = (s * s - pp) * (s * s - tt);
  return denominator > 0 ? (correct * s - pt) / std::sqrt(denominator) : 0.0;
}

}  // namespace ptuner::data
