#include "data/Utf8.h"

namespace ptuner::data::utf8 {

uint32_t decode(const std::string& s, size_t pos, size_t& len) {
  const auto b0 = static_cast<unsigned char>(s[pos]);
  len = 1;
  if (b0 < 0x80) return b0;
  size_t n = 0;
  uint32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4;
    cp = b0 & 0x07;
  } else {
    return b0;  // stray continuation byte or invalid lead
  }
  if (pos + n > s.size()) return b0;
  for (size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[pos + k]);
    if ((b & 0xC0) != 0x80) return b0;
    cp = (cp << 6) | (b & 0x3F);
  }
  len = n;
  return cp;
}

void append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int64_t length(const std::string& s) {
  int64_t n = 0;
  size_t len = 0;
  for (size_t pos = 0; pos < s.size(); pos += len) {
    decode(s, pos, len);
    ++n;
  }
  return n;
}

size_t byte_offset(const std::string& s, int64_t index) {
  if (index < 0) return std::string::npos;
  size_t pos = 0, len = 0;
  for (int64_t i = 0; i < index; ++i) {
    if (pos >= s.size()) return std::string::npos;
    decode(s, pos, len);
    pos += len;
  }
  return pos;
}

std::string substr(const std::string& s, int64_t begin, int64_t end) {
  const size_t b = byte_offset(s, begin), e = byte_offset(s, end);
  return s.substr(b, e - b);
}

namespace {

uint32_t lower_cp(uint32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 0x20;
  if (c < 0xC0) return c;
  if (c <= 0xDE) return c == 0xD7 ? c : c + 0x20;  // Latin-1 capitals, not U+00D7 (×)
  if (c >= 0x100 && c <= 0x17F) {                  // Latin Extended-A
    if (c == 0x130 || c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17F) return c;
    if (c == 0x178) return 0xFF;
    const bool odd_capitals = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (odd_capitals) return (c % 2 == 1) ? c + 1 : c;
    return (c % 2 == 0) ? c + 1 : c;
  }
  if (c >= 0x391 && c <= 0x3A9) return c == 0x3A2 ? c : c + 0x20;  // Greek capitals
  if (c == 0x386) return 0x3AC;
  if (c >= 0x388 && c <= 0x38A) return c + 0x25;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x38E || c == 0x38F) return c + 0x3F;
  if (c >= 0x410 && c <= 0x42F) return c + 0x20;  // Cyrillic capitals
  if (c >= 0x400 && c <= 0x40F) return c + 0x50;
  return c;
}

}  // namespace

std::string lower(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  size_t len = 0;
  for (size_t pos = 0; pos < s.size(); pos += len) {
    const uint32_t cp = decode(s, pos, len);
    if (len == 1 && cp >= 0x80) {
      out += s[pos];  // invalid byte: kept as is
    } else {
      append(out, lower_cp(cp));
    }
  }
  return out;
}

bool is_python_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || (c >= 0x1C && c <= 0x1F) || c == 0x85 ||
         c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

}  // namespace ptuner::data::utf8
