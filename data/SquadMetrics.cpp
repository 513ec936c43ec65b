#include "data/SquadMetrics.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <sstream>

#include "data/Utf8.h"

namespace ptuner::data::squad {

namespace {

constexpr const char* kPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

// Characters that \w matches: ASCII letters, digits, '_', and (an approximation for letters
// outside ASCII) every byte >= 0x80.
bool is_word_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) != 0 || c == '_' || u >= 0x80;
}

std::vector<std::string> tokens(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string t;
  while (in >> t) out.push_back(t);
  return out;
}

}  // namespace

std::string normalize(const std::string& text) {
  std::string no_punct;
  for (const char c : utf8::lower(text))
    if (c == '\0' || std::strchr(kPunctuation, c) == nullptr) no_punct += c;
  // Articles: whole words only.
  std::string no_articles;
  size_t i = 0;
  while (i < no_punct.size()) {
    if (!is_word_byte(no_punct[i])) {
      no_articles += no_punct[i++];
      continue;
    }
    size_t j = i;
    while (j < no_punct.size() && is_word_byte(no_punct[j])) ++j;
    const std::string word = no_punct.substr(i, j - i);
    no_articles += (word == "a" || word == "an" || word == "the") ? std::string(" ") : word;
    i = j;
  }
  std::string out;
  for (const auto& t : tokens(no_articles)) out += (out.empty() ? "" : " ") + t;
  return out;
}

double exact_match(const std::string& prediction, const std::string& gold) {
  return normalize(prediction) == normalize(gold) ? 1.0 : 0.0;
}

double f1(const std::string& prediction, const std::string& gold) {
  const auto p = tokens(normalize(prediction)), g = tokens(normalize(gold));
  std::map<std::string, int> counts;
  for (const auto& t : g) ++counts[t];
  int common = 0;
  for (const auto& t : p) {
    auto it = counts.find(t);
    if (it != counts.end() && it->second > 0) {
      --it->second;
      ++common;
    }
  }
  if (common == 0) return 0.0;
  const double precision = static_cast<double>(common) / static_cast<double>(p.size());
  const double recall = static_cast<double>(common) / static_cast<double>(g.size());
  return 2 * precision * recall / (precision + recall);
}

double max_exact_match(const std::string& prediction, const std::vector<std::string>& golds) {
  double best = 0;
  for (const auto& g : golds) best = std::max(best, exact_match(prediction, g));
  return best;
}

double max_f1(const std::string& prediction, const std::vector<std::string>& golds) {
  double best = 0;
  for (const auto& g : golds) best = std::max(best, f1(prediction, g));
  return best;
}

}  // namespace ptuner::data::squad
