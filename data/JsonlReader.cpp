#include "data/JsonlReader.h"

#include <spdlog/spdlog.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "dist/Check.h"

namespace ptuner::data {

namespace {

constexpr size_t kMaxKeptReasons = 10;
constexpr unsigned kChunkBytes = 1u << 16;

bool is_blank(const std::string& s) {
  for (const char c : s)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\f' && c != '\v') return false;
  return true;
}

// Fills `out` from one parsed line; returns "" or why the record is malformed.
std::string to_example(const nlohmann::json& j, TextToTextExample& out) {
  if (!j.is_object()) return fmt::format("record is a JSON {}, not an object", j.type_name());
  for (const char* key : {"inputs", "targets"}) {
    const auto it = j.find(key);
    if (it == j.end()) return fmt::format("missing \"{}\"", key);
    if (!it->is_string())
      return fmt::format("\"{}\" is a JSON {}, not a string", key, it->type_name());
  }
  out.inputs = j["inputs"].get<std::string>();
  out.targets = j["targets"].get<std::string>();
  out.answers.clear();
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
  out.id.clear();
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

}  // namespace

// zlib reads gzip and plain files alike (plain ones "transparently"); one chunk buffered.
struct JsonlReader::Stream {
  gzFile gz = nullptr;
  std::vector<char> buf = std::vector<char>(kChunkBytes);
  size_t pos = 0;
  size_t len = 0;
  bool eof = false;
  ~Stream() {
    if (gz != nullptr) gzclose(gz);
  }
};

JsonlReader::JsonlReader(const std::string& path, OnError policy)
    : path_(path), policy_(policy), stream_(std::make_unique<Stream>()) {
  std::error_code ec;
  PTUNER_CHECK(std::filesystem::is_regular_file(path, ec),
               "JsonlReader: data file '{}' does not exist or is not a file", path);
  errno = 0;
  stream_->gz = gzopen(path.c_str(), "rb");
  PTUNER_CHECK(stream_->gz != nullptr, "JsonlReader: cannot open data file '{}': {}", path,
               errno != 0 ? std::strerror(errno) : "out of memory");
  gzbuffer(stream_->gz, 1u << 18);
  // Right after gzopen, gzdirect() looks at the first bytes: 1 unless they are 1f 8b.
  compressed_ = gzdirect(stream_->gz) == 0;
}

JsonlReader::~JsonlReader() = default;
JsonlReader::JsonlReader(JsonlReader&&) noexcept = default;
JsonlReader& JsonlReader::operator=(JsonlReader&&) noexcept = default;

bool JsonlReader::read_line(std::string& line) {
  line.clear();
  Stream& s = *stream_;
  bool got_any = false;
  for (;;) {
    if (s.pos == s.len) {
      if (s.eof) return got_any;
      const int n = gzread(s.gz, s.buf.data(), static_cast<unsigned>(s.buf.size()));
      if (n < 0) {
        int errnum = 0;
        const char* msg = gzerror(s.gz, &errnum);
        PTUNER_FAIL("JsonlReader: {}:{}: cannot read ({}): {}", path_, current_line_ + 1,
                    compressed_ ? "damaged gzip stream" : "read error", msg);
      }
      s.pos = 0;
      s.len = static_cast<size_t>(n);
      if (n == 0) {
        s.eof = true;
        return got_any;
      }
    }
    got_any = true;
    const char* begin = s.buf.data() + s.pos;
    const auto* nl = static_cast<const char*>(std::memchr(begin, '\n', s.len - s.pos));
    if (nl == nullptr) {
      line.append(begin, s.len - s.pos);
      s.pos = s.len;
      continue;
    }
    line.append(begin, static_cast<size_t>(nl - begin));
    s.pos = static_cast<size_t>(nl - s.buf.data()) + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  }
}

void JsonlReader::reject(const std::string& reason) {
  const std::string where = fmt::format("{}:{}: {}", path_, current_line_, reason);
  if (policy_ == OnError::Fail) PTUNER_FAIL("JsonlReader: malformed record at {}", where);
  ++skipped_;
  if (skip_reasons_.size() < kMaxKeptReasons) skip_reasons_.push_back(where);
  // Logged once per file: the first 10, and not again on later passes after rewind().
  if (skipped_ > logged_ && skipped_ <= static_cast<int64_t>(kMaxKeptReasons)) {
    logged_ = skipped_;
    spdlog::warn("JsonlReader: skipping malformed record at {}", where);
    if (skipped_ == static_cast<int64_t>(kMaxKeptReasons))
      spdlog::warn("JsonlReader: further malformed records in {} are counted, not logged", path_);
  }
}

bool JsonlReader::next(TextToTextExample& out) {
  std::string text;
  while (read_line(text)) {
    ++current_line_;
    // A UTF-8 byte order mark may open the file.
    if (current_line_ == 1 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
    if (is_blank(text)) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      reject(fmt::format("broken JSON ({})", e.what()));
      continue;
    }
    const std::string reason = to_example(j, out);
    if (!reason.empty()) {
      reject(reason);
      continue;
    }
    record_line_ = current_line_;
    return true;
  }
  return false;
}

void JsonlReader::rewind() {
  Stream& s = *stream_;
  PTUNER_CHECK(gzrewind(s.gz) == 0, "JsonlReader: cannot rewind data file '{}'", path_);
  s.pos = s.len = 0;
  s.eof = false;
  current_line_ = record_line_ = skipped_ = 0;
  skip_reasons_.clear();
}

}  // namespace ptuner::data
