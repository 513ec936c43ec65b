#include "data/Tokenizer.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>

#include "data/SentencePieceLibrary.h"
#include "data/SentencePieceModelCheck.h"
#include "dist/Check.h"

namespace ptuner::data {

namespace {

constexpr const char* kMarkerPrefix = "<extra_id_";

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// A sentinel marker "<extra_id_N>" at text[pos]: N in canonical decimal (no sign, no leading
// zero), N < num_extra_ids. Returns N and sets `end` one past '>', or -1 when there is none.
int parse_marker(const std::string& text, size_t pos, int num_extra_ids, size_t& end) {
  const size_t prefix_len = std::char_traits<char>::length(kMarkerPrefix);
  if (text.compare(pos, prefix_len, kMarkerPrefix) != 0) return -1;
  size_t p = pos + prefix_len;
  const size_t digits_begin = p;
  while (p < text.size() && std::isdigit(static_cast<unsigned char>(text[p])) &&
         p - digits_begin < 10)
    ++p;
  const size_t num_digits = p - digits_begin;
  if (num_digits == 0 || num_digits > 9 || p >= text.size() || text[p] != '>') return -1;
  if (num_digits > 1 && text[digits_begin] == '0') return -1;
  const long n = std::stol(text.substr(digits_begin, num_digits));
  if (n >= num_extra_ids) return -1;
  end = p + 1;
  return static_cast<int>(n);
}

}  // namespace

Tokenizer::Tokenizer(const std::string& model_path, int num_extra_ids)
    : model_path_(model_path), num_extra_ids_(num_extra_ids) {
  PTUNER_CHECK(num_extra_ids >= 0, "Tokenizer: num_extra_ids must be >= 0, got {} (model '{}')",
               num_extra_ids, model_path);
  std::error_code ec;
  PTUNER_CHECK(std::filesystem::is_regular_file(model_path, ec),
               "Tokenizer: sentencepiece model file '{}' does not exist or is not a file",
               model_path);
  // Read once, checked, and handed to sentencepiece as bytes: what was checked is what loads.
  std::string serialized;
  {
    std::ifstream in(model_path, std::ios::binary);
    PTUNER_CHECK(in.good(), "Tokenizer: cannot open sentencepiece model '{}': {}", model_path,
                 std::strerror(errno));
    serialized.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    PTUNER_CHECK(!in.bad(), "Tokenizer: cannot read sentencepiece model '{}': {}", model_path,
                 std::strerror(errno));
  }
  const std::string problem = sentencepiece_model_problem(serialized);
  PTUNER_CHECK(problem.empty(), "Tokenizer: sentencepiece model '{}' is damaged: {}", model_path,
               problem);
  const auto& lib = SentencePieceLibrary::instance();
  auto sp = lib.new_processor();
  const std::string error = lib.load_serialized(*sp, serialized);
  PTUNER_CHECK(error.empty(), "Tokenizer: cannot load sentencepiece model '{}': {}", model_path,
               error);
  PTUNER_CHECK(sp->pad_id() == 0, "Tokenizer: model '{}' has pad id {}, T5 needs pad id 0",
               model_path, sp->pad_id());
  PTUNER_CHECK(sp->eos_id() == 1, "Tokenizer: model '{}' has eos id {}, T5 needs eos id 1",
               model_path, sp->eos_id());
  PTUNER_CHECK(sp->unk_id() == 2, "Tokenizer: model '{}' has unk id {}, T5 needs unk id 2",
               model_path, sp->unk_id());
  piece_size_ = sp->GetPieceSize();
  sp_ = std::move(sp);
}

int64_t Tokenizer::sentinel_id(int i) const {
  PTUNER_CHECK(i >= 0 && i < num_extra_ids_,
               "Tokenizer: sentinel index {} outside [0, {}) (model '{}')", i, num_extra_ids_,
               model_path_);
  return piece_size_ + num_extra_ids_ - 1 - i;
}

int Tokenizer::sentinel_index(int64_t id) const {
  if (id < piece_size_ || id >= vocab_size()) return -1;
  return static_cast<int>(piece_size_ + num_extra_ids_ - 1 - id);
}

void Tokenizer::append_segment(const std::string& text, std::vector<int64_t>& ids) const {
  if (text.empty()) return;
  std::vector<int> piece_ids;
  const std::string error = SentencePieceLibrary::instance().encode(*sp_, text, piece_ids);
  PTUNER_CHECK(error.empty(), "Tokenizer: sentencepiece ('{}') cannot encode '{}': {}", model_path_,
               text, error);
  ids.insert(ids.end(), piece_ids.begin(), piece_ids.end());
}

std::vector<int64_t> Tokenizer::encode(const std::string& text, bool add_eos) const {
  std::vector<int64_t> ids;
  // Split at the markers: [segment] marker [segment] marker ... [segment], where a segment's
  // whitespace touching a marker is dropped.
  size_t seg_begin = 0;
  bool after_marker = false;
  size_t pos = text.find(kMarkerPrefix);
  while (pos != std::string::npos) {
    size_t end = 0;
    const int n = parse_marker(text, pos, static_cast<int>(num_extra_ids_), end);
    if (n < 0) {
      pos = text.find(kMarkerPrefix, pos + 1);
      continue;
    }
    size_t b = seg_begin, e = pos;
    if (after_marker)
      while (b < e && is_space(text[b])) ++b;
    while (e > b && is_space(text[e - 1])) --e;
    append_segment(text.substr(b, e - b), ids);
    ids.push_back(sentinel_id(n));
    seg_begin = end;
    after_marker = true;
    pos = text.find(kMarkerPrefix, end);
  }
  size_t b = seg_begin;
  if (after_marker)
    while (b < text.size() && is_space(text[b])) ++b;
  append_segment(text.substr(b), ids);
  if (add_eos) ids.push_back(eos_id());
  return ids;
}

std::vector<std::string> Tokenizer::pieces(const std::vector<int64_t>& ids) const {
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (const int64_t id : ids) {
    PTUNER_CHECK(id >= 0, "Tokenizer::pieces: negative id {} (model '{}')", id, model_path_);
    if (id == pad_id()) {
      out.emplace_back("<pad>");
    } else if (id == eos_id()) {
      out.emplace_back("</s>");
    } else if (id < piece_size_) {
      out.push_back(sp_->IdToPiece(static_cast<int>(id)));
    } else if (id < vocab_size()) {
      out.push_back(fmt::format("<extra_id_{}>", sentinel_index(id)));
    } else {
      out.push_back(fmt::format("<unused_id_{}>", id));
    }
  }
  return out;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids) const {
  // Runs of ordinary ids decode through sentencepiece; sentinels split the runs.
  std::vector<std::string> parts;
  std::vector<int> run;
  auto flush = [&] {
    if (run.empty()) return;
    std::string text;
    const std::string error = SentencePieceLibrary::instance().decode(*sp_, run, text);
    PTUNER_CHECK(error.empty(), "Tokenizer: sentencepiece ('{}') cannot decode: {}", model_path_,
                 error);
    if (!text.empty()) parts.push_back(std::move(text));
    run.clear();
  };
  for (const int64_t id : ids) {
    if (id == eos_id()) break;
    if (id < 0 || id == pad_id() || id >= vocab_size()) continue;
    if (id < piece_size_) {
      run.push_back(static_cast<int>(id));
    } else {
      flush();
      parts.push_back(fmt::format("<extra_id_{}>", sentinel_index(id)));
    }
  }
  flush();
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += ' ';
    out += parts[i];
  }
  return out;
}

std::vector<int64_t> Tokenizer::most_common_ids(int n) const {
  PTUNER_CHECK(n >= 0, "Tokenizer::most_common_ids: n must be >= 0, got {}", n);
  std::vector<int64_t> ids;
  for (int id = 0; id < piece_size_; ++id) {
    if (id == pad_id() || id == eos_id() || id == unk_id()) continue;
    if (sp_->IsControl(id) || sp_->IsUnknown(id) || sp_->IsUnused(id) || sp_->IsByte(id)) continue;
    ids.push_back(id);
  }
  // Highest score first; equal scores by id so the order is total and reproducible.
  std::stable_sort(ids.begin(), ids.end(), [&](int64_t a, int64_t b) {
    return sp_->GetScore(static_cast<int>(a)) > sp_->GetScore(static_cast<int>(b));
  });
  if (static_cast<int64_t>(ids.size()) > n) ids.resize(static_cast<size_t>(n));
  return ids;
}

}  // namespace ptuner::data
