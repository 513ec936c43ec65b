#pragma once
// UTF-8 helpers for the readers and metrics. The benchmarks count character offsets in code
// points (Python str indices), not bytes. A byte that does not start a valid UTF-8 sequence
// counts as one code point of its own.
#include <cstdint>
#include <string>

namespace ptuner::data::utf8 {

// Decodes the code point at s[pos]; sets `len` to its byte length (1 for an invalid byte,
// whose value is returned as is).
uint32_t decode(const std::string& s, size_t pos, size_t& len);
void append(std::string& out, uint32_t cp);

// Number of code points.
int64_t length(const std::string& s);
// Byte offset of code point `index` (index == length(s) gives s.size()); std::string::npos when
// index < 0 or index > length(s).
size_t byte_offset(const std::string& s, int64_t index);
// Code points [begin, end) as bytes; npos-free: the caller checks the range first.
std::string substr(const std::string& s, int64_t begin, int64_t end);

// Python's str.lower() for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic capitals (the
// one-to-one mappings); every other code point is kept.
std::string lower(const std::string& s);

// Python's str.isspace() / re's \s for str patterns: ASCII \t\n\v\f\r, space, \x1c-\x1f, U+0085,
// U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.
bool is_python_space(uint32_t cp);

}  // namespace ptuner::data::utf8
