#include "data/GlueTsvFormat.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fmt/ranges.h>
#include <utility>

#include "data/MalformedRecord.h"
#include "dist/Check.h"

namespace ptuner::data {

namespace {

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out(1);
  for (const char c : line) {
    if (c == '\t') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

using Kind = GlueTsvFormat::LabelKind;

const std::vector<std::string> kEntailment = {"entailment", "not_entailment"};

}  // namespace

const std::vector<std::string>& GlueTsvFormat::tasks() {
  static const std::vector<std::string> names = {"cola", "sst2", "mrpc",     "qqp", "stsb",
                                                 "mnli", "qnli", "glue_rte", "wnli"};
  return names;
}

bool GlueTsvFormat::reads(const std::string& task) {
  return std::find(tasks().begin(), tasks().end(), task) != tasks().end();
}

GlueTsvFormat::Layout GlueTsvFormat::layout(const std::string& task) {
  if (task == "cola")
    return {"cola", {{"sentence", "sentence"}}, "label", Kind::Index, {"unacceptable", "acceptable"},
            {"index"}, {"source", "label", "annotation", "sentence"}};
  if (task == "sst2")
    return {"sst2", {{"sentence", "sentence"}}, "label", Kind::Index, {"negative", "positive"},
            {"index"}, {}};
  if (task == "mrpc")
    return {"mrpc", {{"sentence1", "#1 String"}, {"sentence2", "#2 String"}}, "Quality",
            Kind::Index, {"not_equivalent", "equivalent"}, {"index"}, {}};
  if (task == "qqp")
    return {"qqp", {{"question1", "question1"}, {"question2", "question2"}}, "is_duplicate",
            Kind::Index, {"not_duplicate", "duplicate"}, {"id"}, {}};
  if (task == "stsb")
    return {"stsb", {{"sentence1", "sentence1"}, {"sentence2", "sentence2"}}, "score",
            Kind::Score, {}, {"index"}, {}};
  if (task == "mnli")
    return {"mnli", {{"hypothesis", "sentence2"}, {"premise", "sentence1"}}, "gold_label",
            Kind::Name, {"entailment", "neutral", "contradiction"}, {"index"}, {}};
  if (task == "qnli")
    return {"qnli", {{"question", "question"}, {"sentence", "sentence"}}, "label", Kind::Name,
            kEntailment, {"index"}, {}};
  if (task == "glue_rte")
    return {"rte", {{"sentence1", "sentence1"}, {"sentence2", "sentence2"}}, "label", Kind::Name,
            kEntailment, {"index"}, {}};
  if (task == "wnli")
    return {"wnli", {{"sentence1", "sentence1"}, {"sentence2", "sentence2"}}, "label", Kind::Index,
            {"not_entailment", "entailment"}, {"index"}, {}};
  PTUNER_FAIL("GlueTsvFormat: task '{}' is not a GLUE TSV task ({})", task,
              fmt::join(tasks(), ", "));
}

std::string GlueTsvFormat::stsb_target(const std::string& score) {
  // As TFDS and T5: Python's float() of the field stored as float32, then tf.round (half to even,
  // the default rounding mode of nearbyint) of score * 5 in float32, / 5, printed "%.1f".
  const char* begin = score.c_str();
  char* end = nullptr;
  errno = 0;
  const double parsed = std::strtod(begin, &end);
  if (score.empty() || end != begin + score.size() || errno == ERANGE || !std::isfinite(parsed))
    throw MalformedRecord(fmt::format("\"score\" is '{}', not a number", score));
  const auto x = static_cast<float>(parsed);
  const float rounded = std::nearbyint(x * 5.0F) / 5.0F;
  return fmt::format("{:.1f}", static_cast<double>(rounded));
}

GlueTsvFormat::GlueTsvFormat(std::string task, bool task_prefix, bool is_training)
    : task_(std::move(task)), layout_(layout(task_)), task_prefix_(task_prefix),
      is_training_(is_training) {}

void GlueTsvFormat::set_columns(const std::vector<std::string>& names) {
  at_.clear();
  row_ = 0;
  width_ = names.size();
  for (size_t i = 0; i < names.size(); ++i) at_.emplace(names[i], i);
}

std::string GlueTsvFormat::label_of(const std::string& v) const {
  switch (layout_.label_kind) {
    case Kind::Index:
      // (Every GLUE task with index labels is binary.)
      if (v != "0" && v != "1")
        throw MalformedRecord(fmt::format("\"{}\" is '{}', not 0 or 1", layout_.label, v));
      return layout_.labels[static_cast<size_t>(v[0] - '0')];
    case Kind::Name:
      if (std::find(layout_.labels.begin(), layout_.labels.end(), v) == layout_.labels.end())
        throw MalformedRecord(fmt::format("\"{}\" is '{}', not one of {}", layout_.label, v,
                                          fmt::join(layout_.labels, ", ")));
      return v;
    case Kind::Score:
      return stsb_target(v);
  }
  return v;
}

bool GlueTsvFormat::parse(const std::string& line, bool first,
                          std::vector<TextToTextExample>& out) {
  const std::vector<std::string> fields = split_tabs(line);
  if (first) {
    const auto names_a_column = [&](const Feature& f) {
      return std::find(fields.begin(), fields.end(), f.column) != fields.end();
    };
    const bool header = std::any_of(layout_.features.begin(), layout_.features.end(), names_a_column);
    if (!header && !layout_.headerless.empty() && fields.size() == layout_.headerless.size()) {
      set_columns(layout_.headerless);  // CoLA's train / dev: this line is the first row
    } else {
      set_columns(fields);
      for (const auto& f : layout_.features)
        PTUNER_CHECK(at_.count(f.column) != 0, "{} header lacks the column '{}' (it has: {})",
                     task_, f.column, fmt::join(fields, " | "));
      return false;
    }
  }
  const int64_t row = row_++;
  if (fields.size() != width_)
    throw MalformedRecord(fmt::format("row has {} tab-separated fields, the header has {}",
                                      fields.size(), width_));
  TextToTextExample ex;
  ex.inputs = task_prefix_ ? layout_.benchmark : "";
  for (const auto& f : layout_.features)
    ex.inputs += (ex.inputs.empty() ? "" : " ") + f.key + ": " + fields[at_.at(f.column)];
  if (const auto it = at_.find(layout_.label); it != at_.end()) {
    ex.label = label_of(fields[it->second]);
    ex.targets = ex.label;
    ex.answers = {ex.label};
  } else if (is_training_) {
    throw UnlabeledRecord(fmt::format("no \"{}\" column (an unlabeled test file cannot train)",
                                      layout_.label));
  }
  ex.id = std::to_string(row);
  for (const auto& column : layout_.ids)
    if (const auto id = at_.find(column); id != at_.end()) {
      ex.id = fields[id->second];
      break;
    }
  ex.task = task_;
  ex.choices = layout_.labels;
  out.push_back(std::move(ex));
  return true;
}

}  // namespace ptuner::data
