#pragma once
// Streaming line reader over a plain or gzip file (gzip recognised by its magic bytes 1f 8b, not
// by the name; concatenated members read as one stream). Holds one 64 KiB chunk and the current
// line, never the whole file; lines may be of any length. A line ends at '\n'; a trailing '\r'
// is dropped (CRLF files) and a UTF-8 byte order mark opening the first line is removed. A last
// line without '\n' still counts.
#include <cstdint>
#include <memory>
#include <string>

namespace ptuner::data {

// True when a line holds only whitespace (space, \t, \r, \n, \f, \v): the readers skip it.
bool is_blank_line(const std::string& line);

class LineReader {
 public:
  // Throws ptuner::Error naming `path` when it is missing, not a regular file or unreadable.
  explicit LineReader(const std::string& path);
  ~LineReader();
  LineReader(LineReader&&) noexcept;
  LineReader& operator=(LineReader&&) noexcept;

  // The next line into `line` (without its end-of-line bytes); false at the end of the file.
  // A damaged gzip stream throws, naming the file, the byte offset, zlib's reason and the line
  // being read (InflatingFile). A gzip file that ends before its trailer (truncated) serves its
  // complete lines, then throws naming the last complete one instead of ending early: the cut
  // line is never returned.
  bool next(std::string& line);

  // 1-based number of the line last returned (0 before the first).
  int64_t line_number() const { return line_number_; }
  bool compressed() const { return compressed_; }
  const std::string& path() const { return path_; }

  // Back to the first line.
  void rewind();

 private:
  struct Stream;
  std::string path_;
  std::unique_ptr<Stream> stream_;
  bool compressed_ = false;
  int64_t line_number_ = 0;
};

}  // namespace ptuner::data
