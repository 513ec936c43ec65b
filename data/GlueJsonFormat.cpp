#include "data/GlueJsonFormat.h"

#include <algorithm>
#include <fmt/ranges.h>
#include <utility>

#include "data/JsonFields.h"
#include "data/MalformedRecord.h"
#include "data/Utf8.h"
#include "dist/Check.h"

namespace ptuner::data {

namespace jf = json_fields;

GlueJsonFormat::Layout GlueJsonFormat::layout(const std::string& task) {
  const std::vector<std::string> bools = {"False", "True"};
  const std::vector<std::string> rte = {"entailment", "not_entailment"};
  using K = LabelKind;
  if (task == "boolq")
    return {"boolq", {{"passage", "passage"}, {"question", "question"}}, bools, K::Bool, {}};
  if (task == "cb")
    return {"cb",
            {{"hypothesis", "hypothesis"}, {"premise", "premise"}},
            {"entailment", "contradiction", "neutral"},
            K::Name,
            {}};
  if (task == "copa")
    return {"copa",
            {{"choice1", "choice1"}, {"choice2", "choice2"}, {"premise", "premise"},
             {"question", "question"}},
            {"choice1", "choice2"},
            K::Index,
            {}};
  if (task == "rte" || task == "axg")
    return {"rte", {{"hypothesis", "hypothesis"}, {"premise", "premise"}}, rte, K::Name, {}};
  if (task == "axb")
    return {"rte", {{"hypothesis", "sentence2"}, {"premise", "sentence1"}}, rte, K::Name, {}};
  if (task == "wic")
    return {"wic",
            {{"sentence1", "sentence1"}, {"sentence2", "sentence2"}, {"word", "word"}},
            bools,
            K::Bool,
            {{"sentence1", "start1", "end1"}, {"sentence2", "start2", "end2"}}};
  PTUNER_FAIL("GlueJsonFormat: no GLUE-style layout for task '{}'", task);
}

GlueJsonFormat::GlueJsonFormat(std::string task, bool task_prefix, bool is_training)
    : task_(std::move(task)),
      layout_(layout(task_)),
      task_prefix_(task_prefix),
      is_training_(is_training) {}

namespace {

std::string label_of(const nlohmann::json& j, const GlueJsonFormat::Layout& l) {
  const auto& names = l.labels;
  switch (l.label_kind) {
    case GlueJsonFormat::LabelKind::Bool:
      return names[jf::bool_field(j, "label") ? 1 : 0];
    case GlueJsonFormat::LabelKind::Index: {
      const int64_t i = jf::int_field(j, "label");
      if (i < 0 || i >= static_cast<int64_t>(names.size()))
        throw MalformedRecord(fmt::format("\"label\" is {}, not in [0, {})", i, names.size()));
      return names[static_cast<size_t>(i)];
    }
    case GlueJsonFormat::LabelKind::Name: {
      const std::string name = jf::string_field(j, "label");
      if (std::find(names.begin(), names.end(), name) == names.end())
        throw MalformedRecord(fmt::format("\"label\" is '{}', not one of {}", name,
                                          fmt::join(names, ", ")));
      return name;
    }
  }
  return "";
}

void check_span(const nlohmann::json& j, const GlueJsonFormat::CharSpan& s) {
  const std::string text = jf::string_field(j, s.text);
  const int64_t start = jf::int_field(j, s.start), end = jf::int_field(j, s.end);
  const int64_t n = utf8::length(text);
  if (!(0 <= start && start < end && end <= n))
    throw MalformedRecord(fmt::format(
        "\"{}\" {} / \"{}\" {} is not a span of \"{}\" ({} characters; end is exclusive)",
        s.start, start, s.end, end, s.text, n));
}

}  // namespace

bool GlueJsonFormat::parse(const std::string& line, bool, std::vector<TextToTextExample>& out) {
  const nlohmann::json j = jf::parse_object(line);
  TextToTextExample ex;
  ex.inputs = task_prefix_ ? layout_.benchmark : "";
  for (const auto& f : layout_.features) {
    if (!ex.inputs.empty()) ex.inputs += ' ';
    ex.inputs += f.key + ": " + jf::string_field(j, f.field);
  }
  for (const auto& s : layout_.spans) check_span(j, s);
  if (jf::has(j, "label")) {
    ex.label = label_of(j, layout_);
    ex.targets = ex.label;
    ex.answers = {ex.label};
  } else if (is_training_) {
    throw UnlabeledRecord("missing \"label\" (an unlabeled test row cannot train)");
  }
  if (jf::has(j, "idx")) ex.id = jf::id_field(j, "idx");
  ex.task = task_;
  ex.choices = layout_.labels;
  out.push_back(std::move(ex));
  return true;
}

}  // namespace ptuner::data
