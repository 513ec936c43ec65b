#include "data/MrqaFormat.h"

#include <utility>

#include "data/JsonFields.h"
#include "data/MalformedRecord.h"
#include "data/T5Text.h"
#include "dist/Check.h"

namespace ptuner::data {

namespace jf = json_fields;

MrqaFormat::MrqaFormat(bool is_training) : is_training_(is_training) {}

namespace {

std::string prepare(const std::string& s) {
  return t5_text::pad_punctuation(t5_text::normalize_python_whitespace(s));
}

}  // namespace

bool MrqaFormat::parse(const std::string& line, bool first, std::vector<TextToTextExample>& out) {
  const nlohmann::json j = jf::parse_object(line);
  if (first && j.contains("header")) return false;
  const std::string context = prepare(jf::string_field(j, "context"));
  const std::string group = jf::has(j, "id") ? jf::id_field(j, "id") : "";
  const auto& qas = jf::array_field(j, "qas");
  std::vector<TextToTextExample> got;
  for (size_t i = 0; i < qas.size(); ++i) {
    const std::string where = fmt::format("qas[{}]", i);
    const auto& qa = qas[i];
    if (!qa.is_object())
      throw MalformedRecord(
          fmt::format("\"{}\" is a JSON {}, not an object", where, qa.type_name()));
    TextToTextExample ex;
    ex.inputs = t5_text::join(
        {"question:", prepare(jf::string_field(qa, "question", where)), "context:", context});
    if (jf::has(qa, "answers")) {
      const auto& answers = jf::array_field(qa, "answers", where);
      for (size_t k = 0; k < answers.size(); ++k) {
        if (!answers[k].is_string())
          throw MalformedRecord(fmt::format("\"{}.answers[{}]\" is a JSON {}, not a string", where,
                                            k, answers[k].type_name()));
        ex.answers.push_back(prepare(answers[k].get<std::string>()));
      }
    }
    if (jf::has(qa, "detected_answers")) {
      const auto& detected = jf::array_field(qa, "detected_answers", where);
      if (!detected.empty()) {
        if (!detected[0].is_object())
          throw MalformedRecord(fmt::format("\"{}.detected_answers[0]\" is a JSON {}, not an object",
                                            where, detected[0].type_name()));
        ex.targets = prepare(
            jf::string_field(detected[0], "text", where + ".detected_answers[0]"));
      }
    }
    if (ex.targets.empty() && !ex.answers.empty()) ex.targets = ex.answers.front();
    if (ex.targets.empty() && is_training_)
      throw UnlabeledRecord(
          fmt::format("\"{}\" has no answer (an unlabeled question cannot train)", where));
    if (ex.answers.empty() && !ex.targets.empty()) ex.answers = {ex.targets};
    ex.id = jf::id_field(qa, "qid", where);
    ex.group = group;
    ex.task = "mrqa";
    got.push_back(std::move(ex));
  }
  for (auto& ex : got) out.push_back(std::move(ex));
  return true;
}

}  // namespace ptuner::data
