#include "data/Metrics.h"

#include <algorithm>
#include <set>

#include "data/ClassificationMetrics.h"
#include "data/CorrelationMetrics.h"
#include "data/ExactMatch.h"
#include "data/SquadMetrics.h"
#include "data/T5Text.h"
#include "data/Task.h"
#include "data/Utf8.h"
#include "dist/Check.h"

namespace ptuner::data {

namespace {

using Metrics = std::map<std::string, double>;
using Examples = std::vector<TextToTextExample>;
using Strings = std::vector<std::string>;

// Predictions and gold labels of the labeled examples.
void labeled(const Examples& examples, const Strings& predictions, Strings& preds, Strings& gold) {
  for (size_t i = 0; i < examples.size(); ++i) {
    if (examples[i].label.empty()) continue;
    preds.push_back(predictions[i]);
    gold.push_back(examples[i].label);
  }
}

Metrics classification(const TaskSpec& spec, const Examples& examples, const Strings& predictions) {
  Strings preds, gold;
  labeled(examples, predictions, preds, gold);
  Metrics m{{"accuracy", accuracy(preds, gold)}, {"examples", static_cast<double>(gold.size())}};
  if (spec.name == "cb") m["f1_macro"] = macro_f1(preds, gold, spec.labels);
  if (spec.name == "mrpc" || spec.name == "qqp") m["f1"] = binary_f1(preds, gold, spec.labels[1]);
  if (spec.name == "cola") m["matthews_corr"] = matthews_corr(preds, gold, spec.labels);
  return m;
}

// STS-B: both sides as numbers (T5's string_to_float; gold is always one).
Metrics stsb(const Examples& examples, const Strings& predictions) {
  Strings preds, gold;
  labeled(examples, predictions, preds, gold);
  std::vector<double> x, y;
  for (size_t i = 0; i < gold.size(); ++i) {
    x.push_back(string_to_float(gold[i]));
    y.push_back(string_to_float(preds[i]));
  }
  return {{"pearson", pearson(x, y)}, {"spearman", spearman(x, y)},
          {"examples", static_cast<double>(gold.size())}};
}

Metrics multirc(const Examples& examples, const Strings& predictions) {
  Strings preds, gold;
  std::map<std::string, bool> question_right;  // group -> every answer right so far
  for (size_t i = 0; i < examples.size(); ++i) {
    const auto& ex = examples[i];
    if (ex.label.empty()) continue;
    preds.push_back(predictions[i]);
    gold.push_back(ex.label);
    const bool right = t5_text::trim(predictions[i]) == ex.label;
    auto [it, fresh] = question_right.emplace(ex.group, right);
    if (!fresh) it->second = it->second && right;
  }
  double all_right = 0;
  for (const auto& [group, right] : question_right) all_right += right ? 1 : 0;
  const double questions = static_cast<double>(question_right.size());
  return {{"f1", binary_f1(preds, gold, "True")},
          {"exact_match", questions > 0 ? all_right / questions : 0.0},
          {"examples", static_cast<double>(gold.size())}};
}

// ReCoRD (dedupe = true: the first example of each group) and MRQA.
Metrics qa(const Examples& examples, const Strings& predictions, bool dedupe) {
  std::set<std::string> seen;
  double em = 0, f1 = 0, n = 0;
  for (size_t i = 0; i < examples.size(); ++i) {
    const auto& ex = examples[i];
    if (ex.answers.empty()) continue;
    if (dedupe && !seen.insert(ex.group).second) continue;
    em += squad::max_exact_match(predictions[i], ex.answers);
    f1 += squad::max_f1(predictions[i], ex.answers);
    ++n;
  }
  return {{"exact_match", n > 0 ? em / n : 0.0}, {"f1", n > 0 ? f1 / n : 0.0}, {"examples", n}};
}

Metrics wsc(const Examples& examples, const Strings& predictions) {
  double right = 0, n = 0;
  for (size_t i = 0; i < examples.size(); ++i) {
    const auto& ex = examples[i];
    if (ex.label.empty()) continue;
    // -1 matches neither label (T5 keeps an empty prediction from counting as "not named").
    right += wsc_simple(predictions[i], ex.targets) == (ex.label == "True" ? 1 : 0) ? 1 : 0;
    ++n;
  }
  return {{"accuracy", n > 0 ? right / n : 0.0}, {"examples", n}};
}

Metrics jsonl(const Examples& examples, const Strings& predictions) {
  Strings preds;
  std::vector<Strings> answers;
  for (size_t i = 0; i < examples.size(); ++i) {
    if (examples[i].answers.empty()) continue;
    preds.push_back(predictions[i]);
    answers.push_back(examples[i].answers);
  }
  return {{"exact_match", exact_match(preds, answers)},
          {"examples", static_cast<double>(preds.size())}};
}

// Python's str.strip(): Unicode whitespace (utf8::is_python_space) off both ends.
std::string python_strip(const std::string& s) {
  size_t begin = std::string::npos, end = 0;  // first and one-past-last non-space code point
  for (size_t pos = 0; pos < s.size();) {
    size_t len = 0;
    const uint32_t cp = utf8::decode(s, pos, len);
    // (An invalid byte decodes as itself: 0x85 alone is not U+0085.)
    const bool invalid = len == 1 && static_cast<unsigned char>(s[pos]) >= 0x80;
    if (invalid || !utf8::is_python_space(cp)) {
      if (begin == std::string::npos) begin = pos;
      end = pos + len;
    }
    pos += len;
  }
  return begin == std::string::npos ? std::string() : s.substr(begin, end - begin);
}

// strip, lower, drop determiners (T5's clean()).
std::string wsc_clean(const std::string& s) {
  static const std::set<std::string> determiners = {
      "a",     "an",    "few",  "her",   "his",   "each",  "every", "many",  "much",    "my", "our",
      "some", "that", "the", "their", "these", "this", "those", "which", "whose", "your"};
  std::string out;
  bool first = true;
  for (const auto& w : t5_text::split_on_space(utf8::lower(python_strip(s)))) {
    if (determiners.count(w) != 0) continue;
    if (!first) out += ' ';
    out += w;
    first = false;
  }
  return out;
}

}  // namespace

int wsc_simple(const std::string& prediction, const std::string& referent) {
  const std::string p = wsc_clean(prediction);
  if (p.empty()) return -1;
  const std::string r = wsc_clean(referent);
  if ((p.find('\'') != std::string::npos) != (r.find('\'') != std::string::npos)) return 0;
  const Strings pw = t5_text::split_on_space(p), rw = t5_text::split_on_space(r);
  const std::set<std::string> ps(pw.begin(), pw.end()), rs(rw.begin(), rw.end());
  return std::includes(rs.begin(), rs.end(), ps.begin(), ps.end()) ||
                 std::includes(ps.begin(), ps.end(), rs.begin(), rs.end())
             ? 1
             : 0;
}

bool is_labeled(const std::string& task, const TextToTextExample& ex) {
  if (task == "record" || task == "mrqa" || task == "jsonl") return !ex.answers.empty();
  return !ex.label.empty();
}

std::map<std::string, double> compute_metrics(const std::string& task, const Examples& examples,
                                              const Strings& predictions) {
  const TaskSpec& spec = task_spec(task);
  PTUNER_CHECK(examples.size() == predictions.size(),
               "compute_metrics ({}): {} examples but {} predictions", task, examples.size(),
               predictions.size());
  if (task == "multirc") return multirc(examples, predictions);
  if (task == "record") return qa(examples, predictions, /*dedupe=*/true);
  if (task == "mrqa") return qa(examples, predictions, /*dedupe=*/false);
  if (task == "wsc") return wsc(examples, predictions);
  if (task == "jsonl") return jsonl(examples, predictions);
  if (task == "stsb") return stsb(examples, predictions);
  return classification(spec, examples, predictions);
}

}  // namespace ptuner::data
