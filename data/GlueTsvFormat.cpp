#include "data/GlueTsvFormat.h"

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

}  // namespace

GlueTsvFormat::GlueTsvFormat(std::string task, bool task_prefix, bool is_training)
    : task_(std::move(task)), task_prefix_(task_prefix), is_training_(is_training) {
  if (task_ == "mrpc") {
    columns_ = {"#1 String", "#2 String", "Quality", "index",
                "sentence1", "sentence2", {"not_equivalent", "equivalent"}};
  } else if (task_ == "qqp") {
    columns_ = {"question1", "question2", "is_duplicate", "id",
                "question1", "question2", {"not_duplicate", "duplicate"}};
  } else {
    PTUNER_FAIL("GlueTsvFormat: task '{}' is not mrpc or qqp", task_);
  }
}

bool GlueTsvFormat::parse(const std::string& line, bool first,
                          std::vector<TextToTextExample>& out) {
  const std::vector<std::string> fields = split_tabs(line);
  if (first) {
    at_.clear();
    row_ = 0;
    width_ = fields.size();
    for (size_t i = 0; i < fields.size(); ++i) at_.emplace(fields[i], i);
    for (const auto& need : {columns_.text1, columns_.text2})
      PTUNER_CHECK(at_.count(need) != 0, "{} header lacks the column '{}' (it has: {})", task_,
                   need, fmt::join(fields, " | "));
    return false;
  }
  const int64_t row = row_++;
  if (fields.size() != width_)
    throw MalformedRecord(fmt::format("row has {} tab-separated fields, the header has {}",
                                      fields.size(), width_));
  TextToTextExample ex;
  ex.inputs = (task_prefix_ ? task_ + " " : "") + columns_.key1 + ": " +
              fields[at_.at(columns_.text1)] + " " + columns_.key2 + ": " +
              fields[at_.at(columns_.text2)];
  if (const auto it = at_.find(columns_.label); it != at_.end()) {
    const std::string& v = fields[it->second];
    if (v != "0" && v != "1")
      throw MalformedRecord(fmt::format("\"{}\" is '{}', not 0 or 1", columns_.label, v));
    ex.label = columns_.labels[v == "1" ? 1 : 0];
    ex.targets = ex.label;
    ex.answers = {ex.label};
  } else if (is_training_) {
    throw UnlabeledRecord(fmt::format("no \"{}\" column (an unlabeled test file cannot train)",
                                      columns_.label));
  }
  const auto id = at_.find(columns_.id);
  ex.id = id != at_.end() ? fields[id->second] : std::to_string(row);
  ex.task = task_;
  ex.choices = columns_.labels;
  out.push_back(std::move(ex));
  return true;
}

}  // namespace ptuner::data
