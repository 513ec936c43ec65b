#include "data/ReCoRDFormat.h"

#include <fmt/ranges.h>
#include <set>
#include <utility>

#include "data/JsonFields.h"
#include "data/MalformedRecord.h"
#include "data/Utf8.h"
#include "dist/Check.h"

namespace ptuner::data {

namespace jf = json_fields;

ReCoRDFormat::ReCoRDFormat(bool task_prefix, bool is_training)
    : task_prefix_(task_prefix), is_training_(is_training) {}

std::string ReCoRDFormat::clean_passage(const std::string& text) {
  static const std::string kHighlight = "\n@highlight\n";
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, kHighlight.size(), kHighlight) == 0) {
      const char before = out.empty() ? '\0' : out.back();
      const bool after_stop = i > 0 && (before == '.' || before == '?' || before == '!' ||
                                        before == '"' || before == '\'');
      out += after_stop ? " " : ". ";
      i += kHighlight.size();
    } else {
      out += text[i++];
    }
  }
  return out;
}

namespace {

PTUNER_RETURNS_INTO_ARGUMENT
const nlohmann::json& object_at(const nlohmann::json& array, size_t i, const std::string& where) {
  const auto& v = array[i];
  if (!v.is_object())
    throw MalformedRecord(
        fmt::format("\"{}[{}]\" is a JSON {}, not an object", where, i, v.type_name()));
  return v;
}

// The distinct entity strings T[start .. end] (inclusive end, code points), sorted.
std::vector<std::string> entities_of(const std::string& text, const nlohmann::json& entities) {
  const int64_t n = utf8::length(text);
  std::set<std::string> unique;
  for (size_t i = 0; i < entities.size(); ++i) {
    const std::string where = fmt::format("passage.entities[{}]", i);
    const auto& e = object_at(entities, i, "passage.entities");
    const int64_t start = jf::int_field(e, "start", where), end = jf::int_field(e, "end", where);
    if (!(0 <= start && start <= end && end < n))
      throw MalformedRecord(fmt::format(
          "\"{}\" start {} / end {} is not a span of the passage ({} characters; end is "
          "inclusive)",
          where, start, end, n));
    unique.insert(utf8::substr(text, start, end + 1));
  }
  return {unique.begin(), unique.end()};
}

}  // namespace

bool ReCoRDFormat::parse(const std::string& line, bool, std::vector<TextToTextExample>& out) {
  const nlohmann::json j = jf::parse_object(line);
  const std::string p = jf::id_field(j, "idx");
  const auto& passage = jf::object_field(j, "passage");
  const std::string text = jf::string_field(passage, "text", "passage");
  const std::vector<std::string> entities =
      entities_of(text, jf::array_field(passage, "entities", "passage"));
  const std::string joined_entities = fmt::format("{}", fmt::join(entities, ", "));
  const std::string cleaned = clean_passage(text);
  const auto& qas = jf::array_field(j, "qas");
  std::vector<TextToTextExample> got;
  for (size_t qi = 0; qi < qas.size(); ++qi) {
    const std::string where = fmt::format("qas[{}]", qi);
    const auto& qa = object_at(qas, qi, "qas");
    TextToTextExample ex;
    ex.inputs = (task_prefix_ ? "record " : "") + std::string("query: ") +
                jf::string_field(qa, "query", where) + " entities: " + joined_entities +
                " passage: " + cleaned;
    std::set<std::string> answers;
    if (jf::has(qa, "answers")) {
      const auto& list = jf::array_field(qa, "answers", where);
      for (size_t ai = 0; ai < list.size(); ++ai) {
        const auto& a = object_at(list, ai, where + ".answers");
        answers.insert(jf::string_field(a, "text", fmt::format("{}.answers[{}]", where, ai)));
      }
    }
    if (answers.empty() && is_training_)
      throw UnlabeledRecord(
          fmt::format("\"{}\" has no answers (an unlabeled test row cannot train)", where));
    const std::string q = jf::id_field(qa, "idx", where);
    ex.id = q;
    ex.group = p + "-" + q;
    ex.task = "record";
    ex.choices = entities;
    ex.answers.assign(answers.begin(), answers.end());
    if (is_training_) {
      for (const auto& a : ex.answers) {
        TextToTextExample one = ex;
        one.targets = a;
        got.push_back(std::move(one));
      }
    } else {
      if (!ex.answers.empty()) ex.targets = ex.answers.front();
      got.push_back(std::move(ex));
    }
  }
  for (auto& ex : got) out.push_back(std::move(ex));
  return true;
}

}  // namespace ptuner::data
