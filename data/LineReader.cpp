#include "data/LineReader.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "dist/Check.h"

namespace ptuner::data {

bool is_blank_line(const std::string& line) {
  for (const char c : line)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\f' && c != '\v') return false;
  return true;
}

namespace {
constexpr unsigned kChunkBytes = 1u << 16;
}  // namespace

// zlib reads gzip and plain files alike (plain ones "transparently"); one chunk buffered.
struct LineReader::Stream {
  gzFile gz = nullptr;
  std::vector<char> buf = std::vector<char>(kChunkBytes);
  size_t pos = 0;
  size_t len = 0;
  bool eof = false;
  bool truncated = false;  // the input ended inside a gzip stream
  ~Stream() {
    if (gz != nullptr) gzclose(gz);
  }
};

LineReader::LineReader(const std::string& path) : path_(path), stream_(std::make_unique<Stream>()) {
  std::error_code ec;
  PTUNER_CHECK(std::filesystem::is_regular_file(path, ec),
               "LineReader: data file '{}' does not exist or is not a file", path);
  errno = 0;
  stream_->gz = gzopen(path.c_str(), "rb");
  PTUNER_CHECK(stream_->gz != nullptr, "LineReader: cannot open data file '{}': {}", path,
               errno != 0 ? std::strerror(errno) : "out of memory");
  gzbuffer(stream_->gz, 1u << 18);
  // Right after gzopen, gzdirect() looks at the first bytes: 1 unless they are 1f 8b.
  compressed_ = gzdirect(stream_->gz) == 0;
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
      const int n = gzread(s.gz, s.buf.data(), static_cast<unsigned>(s.buf.size()));
      if (n < 0) {
        int errnum = 0;
        const char* msg = gzerror(s.gz, &errnum);
        PTUNER_FAIL("LineReader: {}:{}: cannot read ({}): {}", path_, line_number_ + 1,
                    compressed_ ? "damaged gzip stream" : "read error", msg);
      }
      s.pos = 0;
      s.len = static_cast<size_t>(n);
      // A short read is the end of the input. zlib then says Z_BUF_ERROR when the file ended
      // inside a gzip stream (before its trailer: a cut download or copy), which is damage even
      // when the cut falls on a line boundary; the complete lines before it are still served.
      if (compressed_ && n < static_cast<int>(s.buf.size())) {
        int errnum = Z_OK;
        (void)gzerror(s.gz, &errnum);
        if (errnum == Z_BUF_ERROR) s.truncated = true;
      }
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
  PTUNER_CHECK(gzrewind(s.gz) == 0, "LineReader: cannot rewind data file '{}'", path_);
  s.pos = s.len = 0;
  s.eof = false;
  s.truncated = false;
  line_number_ = 0;
}

}  // namespace ptuner::data
