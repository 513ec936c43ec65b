#include "data/TextToTextFormat.h"

#include <nlohmann/json.hpp>

#include "data/MalformedRecord.h"
#include "dist/Check.h"

namespace ptuner::data {

std::string TextToTextFormat::to_example(const std::string& line, TextToTextExample& out) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number too large
    return fmt::format("broken JSON ({})", e.what());
  }
  if (!j.is_object()) return fmt::format("record is a JSON {}, not an object", j.type_name());
  for (const char* key : {"inputs", "targets"}) {
    const auto it = j.find(key);
    if (it == j.end()) return fmt::format("missing \"{}\"", key);
    if (!it->is_string())
      return fmt::format("\"{}\" is a JSON {}, not a string", key, it->type_name());
  }
  out = TextToTextExample{};
  out.inputs = j["inputs"].get<std::string>();
  out.targets = j["targets"].get<std::string>();
  if (const auto it = j.find("answers"); it != j.end() && !it->is_null()) {
    if (!it->is_array())
      return fmt::format("\"answers\" is a JSON {}, not an array of strings", it->type_name());
    for (const auto& a : *it) {
      if (!a.is_string())
        return fmt::format("\"answers\" holds a JSON {}, not a string", a.type_name());
      out.answers.push_back(a.get<std::string>());
    }
  }
  if (out.answers.empty()) out.answers.push_back(out.targets);
  if (const auto it = j.find("id"); it != j.end() && !it->is_null()) {
    if (it->is_string()) {
      out.id = it->get<std::string>();
    } else if (it->is_number_integer()) {
      out.id = it->dump();
    } else {
      return fmt::format("\"id\" is a JSON {}, not a string or integer", it->type_name());
    }
  }
  return "";
}

bool TextToTextFormat::parse(const std::string& line, bool, std::vector<TextToTextExample>& out) {
  TextToTextExample ex;
  const std::string reason = to_example(line, ex);
  if (!reason.empty()) throw MalformedRecord(reason);
  ex.task = "jsonl";
  out.push_back(std::move(ex));
  return true;
}

}  // namespace ptuner::data
