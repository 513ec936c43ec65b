#pragma once
// The string operations of T5's and the prompt-tuning code's preprocessors, reproduced exactly.
// TensorFlow's regexes are RE2: \w is ASCII [0-9A-Za-z_], \W is every other code point, \s is
// [\t\n\f\r ] (no \v); they work on code points of the UTF-8 text.
#include <string>
#include <vector>

namespace ptuner::data::t5_text {

// RE2 \s: '\t' '\n' '\f' '\r' ' '.
bool is_re2_space(char c);

// regex_replace(text, r'\s+', ' '): every run of RE2 whitespace becomes one space (ends kept).
std::string collapse_whitespace(const std::string& text);

// T5 _pad_punctuation: regex_replace(text, r'(\W)', r' \1 ') then collapse_whitespace, so every
// code point outside [0-9A-Za-z_] gets a space on each side: "U.S. (2)" -> "U . S . ( 2 ) ".
// Leading and trailing spaces stay, as in T5.
std::string pad_punctuation(const std::string& text);

// T5 _string_join: join with ' ', then collapse_whitespace.
std::string join(const std::vector<std::string>& parts);

// Python re.sub(r"\s+", " ", s) on str (Unicode whitespace), as mrqa_to_tsv.py does.
std::string normalize_python_whitespace(const std::string& text);

// Strips ASCII whitespace (" \t\n\r\f\v") at both ends.
std::string trim(const std::string& text);

// Python's text.split(" "): every single space separates, so adjacent spaces give empty words.
std::vector<std::string> split_on_space(const std::string& text);

}  // namespace ptuner::data::t5_text
