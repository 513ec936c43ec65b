#include "data/T5Text.h"

#include "data/Utf8.h"

namespace ptuner::data::t5_text {

bool is_re2_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }

std::string collapse_whitespace(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool in_space = false;
  for (const char c : text) {
    if (is_re2_space(c)) {
      if (!in_space) out += ' ';
      in_space = true;
    } else {
      out += c;
      in_space = false;
    }
  }
  return out;
}

std::string pad_punctuation(const std::string& text) {
  std::string padded;
  padded.reserve(text.size() * 2);
  size_t len = 0;
  for (size_t pos = 0; pos < text.size(); pos += len) {
    utf8::decode(text, pos, len);
    const char c = text[pos];
    const bool word = len == 1 && ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
                                   (c >= 'a' && c <= 'z') || c == '_');
    if (word) {
      padded += c;
    } else {
      padded += ' ';
      padded.append(text, pos, len);
      padded += ' ';
    }
  }
  return collapse_whitespace(padded);
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += ' ';
    out += parts[i];
  }
  return collapse_whitespace(out);
}

std::string normalize_python_whitespace(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool in_space = false;
  size_t len = 0;
  for (size_t pos = 0; pos < text.size(); pos += len) {
    const uint32_t cp = utf8::decode(text, pos, len);
    const bool valid = !(len == 1 && cp >= 0x80);
    if (valid && utf8::is_python_space(cp)) {
      if (!in_space) out += ' ';
      in_space = true;
    } else {
      out.append(text, pos, len);
      in_space = false;
    }
  }
  return out;
}

std::string trim(const std::string& text) {
  constexpr const char* kSpace = " \t\n\r\f\v";
  const size_t b = text.find_first_not_of(kSpace);
  if (b == std::string::npos) return "";
  const size_t e = text.find_last_not_of(kSpace);
  return text.substr(b, e - b + 1);
}

std::vector<std::string> split_on_space(const std::string& text) {
  std::vector<std::string> out(1);
  for (const char c : text) {
    if (c == ' ')
      out.emplace_back();
    else
      out.back() += c;
  }
  return out;
}

}  // namespace ptuner::data::t5_text
