#include "data/LineReader.h"

#include <cstring>
#include <filesystem>
#include <vector>

#include "data/InflatingFile.h"
#include "dist/Check.h"

namespace ptuner::data {

bool is_blank_line(const std::string& line) {
  for (const char c : line)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\f' && c != '\v') return false;
  return true;
}

namespace {
constexpr size_t kChunkBytes = 1u << 16;
}  // namespace

// One chunk of the file's (decompressed) bytes buffered.
struct LineReader::Stream {
  explicit Stream(const std::string& path) : file(path) {}
  InflatingFile file;
  std::vector<char> buf = std::vector<char>(kChunkBytes);
  size_t pos = 0;
  size_t len = 0;
  bool eof = false;
  bool truncated = false;  // the input ended inside a gzip stream
};

LineReader::LineReader(const std::string& path) : path_(path) {
  std::error_code ec;
  PTUNER_CHECK(std::filesystem::is_regular_file(path, ec),
               "LineReader: data file '{}' does not exist or is not a file", path);
  try {
    stream_ = std::make_unique<Stream>(path);
  } catch (const ptuner::Error& e) {
    PTUNER_FAIL("LineReader: {}", e.what());
  }
  compressed_ = stream_->file.compressed();
}

LineReader::~LineReader() = default;
LineReader::LineReader(LineReader&&) noexcept = default;
LineReader& LineReader::operator=(LineReader&&) noexcept = default;

bool LineReader::next(std::string& line) {
  line.clear();
  Stream& s = *stream_;
  bool got_any = false;
  for (;;) {
    if (s.pos == s.len) {
      if (s.eof) break;
      size_t n = 0;
      try {
        n = s.file.read(s.buf.data(), s.buf.size());
      } catch (const ptuner::Error& e) {
        PTUNER_FAIL("LineReader: {} (reading line {})", e.what(), line_number_ + 1);
      }
      s.pos = 0;
      s.len = n;
      // The file ended inside a gzip stream (before its trailer: a cut download or copy), which
      // is damage even when the cut falls on a line boundary; the complete lines before it are
      // still served.
      s.truncated = s.file.truncated();
      if (n == 0 && !s.truncated) {
        s.eof = true;
        break;
      }
    }
    if (s.truncated && std::memchr(s.buf.data() + s.pos, '\n', s.len - s.pos) == nullptr) {
      // Only the cut line is left (in `line` and the buffer).
      PTUNER_FAIL(
          "LineReader: {}: the gzip stream ends without its trailer (the file is truncated or "
          "damaged); line {} is the last complete one",
          path_, line_number_);
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
    break;
  }
  if (!got_any) return false;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  ++line_number_;
  if (line_number_ == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
  return true;
}

void LineReader::rewind() {
  Stream& s = *stream_;
  s.file.rewind();
  s.pos = s.len = 0;
  s.eof = false;
  s.truncated = false;
  line_number_ = 0;
}

}  // namespace ptuner::data
