#include "data/WscFormat.h"

#include <cctype>
#include <cstdlib>
#include <sstream>

#include "data/JsonFields.h"
#include "data/MalformedRecord.h"
#include "data/T5Text.h"
#include "data/Utf8.h"
#include "dist/Check.h"

namespace ptuner::data {

namespace jf = json_fields;

WscFormat::WscFormat(bool task_prefix, bool is_training)
    : task_prefix_(task_prefix), is_training_(is_training) {}

namespace {

bool is_punct(char c) { return std::ispunct(static_cast<unsigned char>(c)) != 0; }

// [begin, end) of `word` without leading and trailing ASCII punctuation.
std::pair<size_t, size_t> core_of(const std::string& word) {
  size_t b = 0, e = word.size();
  while (b < e && is_punct(word[b])) ++b;
  while (e > b && is_punct(word[e - 1])) --e;
  return {b, e};
}

bool same_word(const std::string& word, const std::string& span) {
  const auto [b, e] = core_of(word);
  return utf8::lower(word.substr(b, e - b)) == utf8::lower(span);
}

// The two texts T5's _wsc_inputs special-cases (t5/data/preprocessors.py), and what it returns
// for them, whatever the record's span2_index.
constexpr const char* kGoodForHimText =
    "The boy continued to whip the pony , and eventually the pony threw him over. John laughed "
    "out quite loud. \"Good for him,\" he said. ";
constexpr const char* kGoodForHimInputs =
    "The boy continued to whip the pony , and eventually the pony threw him over. John laughed "
    "out quite loud. \"Good for X ,\" he said.";
constexpr const char* kFarleyText =
    "When they had eventually calmed down a bit , and had gotten home, Mr. Farley put the magic "
    "pebble in an iron safe . Some day they might want to use it , but really for now, what more "
    "could they wish for?";
constexpr const char* kFarleyInputs =
    "When they had eventually calmed down a bit , and had gotten home, Mr. Farley put the magic "
    "pebble in an iron safe . Some day they might want to use X , but really for now, what more "
    "could they wish for?";

// The words joined by single spaces, with the word nearest to index i2 that is `span`
// (punctuation around it and case aside) marked as *word*; throws MalformedRecord when none is.
std::string mark_nearest(std::vector<std::string> words, int64_t i2, const std::string& span) {
  const auto n = static_cast<int64_t>(words.size());
  int64_t at = -1;
  for (int64_t d = 0; d < n && at < 0; ++d)
    for (const int64_t k : {i2 - d, i2 + d})
      if (at < 0 && k >= 0 && k < n && same_word(words[static_cast<size_t>(k)], span)) at = k;
  if (at < 0)
    throw MalformedRecord(fmt::format(
        "\"target.span2_index\" {} points at '{}', and no word of the text is span2_text '{}'",
        i2, words[static_cast<size_t>(i2)], span));
  std::string& w = words[static_cast<size_t>(at)];
  const auto [b, e] = core_of(w);
  w = w.substr(0, b) + "*" + w.substr(b, e - b) + "*" + w.substr(e);
  std::string out;
  for (size_t k = 0; k < words.size(); ++k) out += (k > 0 ? " " : "") + words[k];
  return out;
}

}  // namespace

std::string WscFormat::fix_span_text(const std::string& text, const std::string& span,
                                     int64_t index) {
  if (span.empty() || text.find(span) != std::string::npos) return span;
  std::istringstream in(text);
  std::string word;
  for (int64_t i = 0; i <= index && in >> word;) ++i;
  std::string fixed = span;
  if (!word.empty()) {
    const bool lower = std::islower(static_cast<unsigned char>(word[0])) != 0;
    fixed[0] = static_cast<char>(lower ? std::tolower(static_cast<unsigned char>(fixed[0]))
                                       : std::toupper(static_cast<unsigned char>(fixed[0])));
  }
  while (!fixed.empty() && fixed.back() == '.') fixed.pop_back();
  for (char& c : fixed)
    if (c == '\n') c = ' ';
  return fixed;
}

bool WscFormat::parse(const std::string& line, bool, std::vector<TextToTextExample>& out) {
  const nlohmann::json j = jf::parse_object(line);
  const std::string text = jf::string_field(j, "text");
  const auto& target = jf::object_field(j, "target");
  const int64_t i1 = jf::int_field(target, "span1_index", "target");
  const int64_t i2 = jf::int_field(target, "span2_index", "target");
  const std::string s1 = fix_span_text(text, jf::string_field(target, "span1_text", "target"), i1);
  const std::string s2 = fix_span_text(text, jf::string_field(target, "span2_text", "target"), i2);
  TextToTextExample ex;
  ex.inputs = task_prefix_ ? "wsc: " : "";
  // T5's _wsc_inputs: the text with the pronoun replaced by X (two texts of the data are special
  // cases, kept verbatim), then every " X " replaced by " *span2_text* ".
  std::string with_x;
  if (text == kGoodForHimText) {
    with_x = kGoodForHimInputs;
  } else if (text == kFarleyText) {
    with_x = kFarleyInputs;
  } else {
    const std::vector<std::string> words = t5_text::split_on_space(text);
    const auto n = static_cast<int64_t>(words.size());
    if (i2 < 0 || i2 >= n)
      throw MalformedRecord(
          fmt::format("\"target.span2_index\" {} is outside the text's {} words", i2, n));
    if (i2 > 0 && words[static_cast<size_t>(i2)] == s2) {
      // T5's own path: words before, X, words after, joined by single spaces.
      for (int64_t k = 0; k < i2; ++k) with_x += (k > 0 ? " " : "") + words[static_cast<size_t>(k)];
      with_x += " X ";
      for (int64_t k = i2 + 1; k < n; ++k)
        with_x += (k > i2 + 1 ? " " : "") + words[static_cast<size_t>(k)];
    } else {
      // A record T5's preprocessor asserts on (span2_index 0, or the word there is not
      // span2_text): the nearest word that is span2_text, punctuation aside, is marked in place.
      ex.inputs += mark_nearest(words, i2, s2);
    }
  }
  if (!with_x.empty()) {
    const std::string marked = " *" + s2 + "* ";
    for (size_t pos = 0; pos < with_x.size();) {
      const size_t hit = with_x.find(" X ", pos);
      ex.inputs += with_x.substr(pos, hit == std::string::npos ? std::string::npos : hit - pos);
      if (hit == std::string::npos) break;
      ex.inputs += marked;
      pos = hit + 3;
    }
  }
  ex.targets = s1;
  if (jf::has(j, "label")) {
    ex.label = jf::bool_field(j, "label") ? "True" : "False";
    if (ex.label == "True") ex.answers = {s1};
  } else if (is_training_) {
    throw UnlabeledRecord("missing \"label\" (an unlabeled test row cannot train)");
  }
  if (jf::has(j, "idx")) ex.id = jf::id_field(j, "idx");
  ex.task = "wsc";
  if (!is_training_ || ex.label == "True") out.push_back(std::move(ex));
  return true;
}

}  // namespace ptuner::data
