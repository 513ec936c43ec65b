#include "data/JsonlReader.h"

#include "data/LineReader.h"
#include "data/TextToTextFormat.h"

namespace ptuner::data {

JsonlReader::JsonlReader(const std::string& path, OnError policy)
    : lines_(path), malformed_("JsonlReader", path, policy) {}

JsonlReader::~JsonlReader() = default;
JsonlReader::JsonlReader(JsonlReader&&) noexcept = default;
JsonlReader& JsonlReader::operator=(JsonlReader&&) noexcept = default;

bool JsonlReader::next(TextToTextExample& out) {
  std::string text;
  while (lines_.next(text)) {
    if (is_blank_line(text)) continue;
    const std::string reason = TextToTextFormat::to_example(text, out);
    if (!reason.empty()) {
      malformed_.reject(lines_.line_number(), reason);
      continue;
    }
    record_line_ = lines_.line_number();
    return true;
  }
  return false;
}

void JsonlReader::rewind() {
  lines_.rewind();
  record_line_ = 0;
  malformed_.restart();
}

}  // namespace ptuner::data
