#include "data/MultiRcFormat.h"

#include <utility>

#include "data/JsonFields.h"
#include "data/MalformedRecord.h"
#include "dist/Check.h"

namespace ptuner::data {

namespace jf = json_fields;

MultiRcFormat::MultiRcFormat(bool task_prefix, bool is_training)
    : task_prefix_(task_prefix), is_training_(is_training) {}

namespace {

// One left-to-right pass replacing every occurrence of each pattern (as a global regex replace).
std::string replace_all(const std::string& text, const std::vector<std::string>& patterns,
                        const std::string& with) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    bool hit = false;
    for (const auto& p : patterns) {
      if (text.compare(i, p.size(), p) == 0) {
        out += with;
        i += p.size();
        hit = true;
        break;
      }
    }
    if (!hit) out += text[i++];
  }
  return out;
}

}  // namespace

std::string MultiRcFormat::clean(const std::string& text) {
  return replace_all(replace_all(text, {"<br>"}, " "), {"<b>", "</b>"}, "");
}

bool MultiRcFormat::parse(const std::string& line, bool, std::vector<TextToTextExample>& out) {
  const nlohmann::json j = jf::parse_object(line);
  const std::string p = jf::id_field(j, "idx");
  const auto& passage = jf::object_field(j, "passage");
  const std::string paragraph = jf::string_field(passage, "text", "passage");
  const auto& questions = jf::array_field(passage, "questions", "passage");
  std::vector<TextToTextExample> got;
  for (size_t qi = 0; qi < questions.size(); ++qi) {
    const std::string qwhere = fmt::format("passage.questions[{}]", qi);
    const auto& question = questions[qi];
    if (!question.is_object())
      throw MalformedRecord(fmt::format("\"{}\" is a JSON {}, not an object", qwhere,
                                        question.type_name()));
    const std::string q = jf::id_field(question, "idx", qwhere);
    const std::string qtext = jf::string_field(question, "question", qwhere);
    const auto& answers = jf::array_field(question, "answers", qwhere);
    for (size_t ai = 0; ai < answers.size(); ++ai) {
      const std::string awhere = fmt::format("{}.answers[{}]", qwhere, ai);
      const auto& answer = answers[ai];
      if (!answer.is_object())
        throw MalformedRecord(fmt::format("\"{}\" is a JSON {}, not an object", awhere,
                                          answer.type_name()));
      TextToTextExample ex;
      ex.inputs = clean((task_prefix_ ? "multirc " : "") + std::string("question: ") + qtext +
                        " answer: " + jf::string_field(answer, "text", awhere) +
                        " paragraph: " + paragraph);
      if (jf::has(answer, "label")) {
        ex.label = jf::bool_field(answer, "label", awhere) ? "True" : "False";
        ex.targets = ex.label;
        ex.answers = {ex.label};
      } else if (is_training_) {
        throw UnlabeledRecord(fmt::format(
            "missing \"{}.label\" (an unlabeled test row cannot train)", awhere));
      }
      ex.id = p + "-" + q + "-" + jf::id_field(answer, "idx", awhere);
      ex.group = p + "-" + q;
      ex.task = "multirc";
      ex.choices = {"False", "True"};
      got.push_back(std::move(ex));
    }
  }
  for (auto& ex : got) out.push_back(std::move(ex));
  return true;
}

}  // namespace ptuner::data
