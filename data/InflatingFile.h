#pragma once
// The bytes of a plain or gzip file (gzip recognised by its magic bytes 1f 8b, not by the name),
// read in chunks through zlib's inflate rather than its gz* functions, so that every kind of
// damage is seen the same way whichever zlib is installed: zlib 1.3.2's gzread returns an empty
// file, with no error, for a gzip stream damaged right after its header, and reports a cut
// stream on the read that reaches the cut and no more.
// Concatenated gzip members are one stream (as gzip -d reads them); zero bytes after the last
// member are ignored (padding); anything else after it is an error.
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace ptuner::data {

class InflatingFile {
 public:
  // Throws ptuner::Error naming `path` when it cannot be opened.
  explicit InflatingFile(const std::string& path);
  ~InflatingFile();
  InflatingFile(const InflatingFile&) = delete;
  InflatingFile& operator=(const InflatingFile&) = delete;

  bool compressed() const { return compressed_; }

  // Up to `capacity` bytes of the content (decompressed) into `out`; 0 at its end. A damaged
  // gzip stream or a read error throws ptuner::Error naming the file, zlib's reason and the
  // offset in the file (where inflate stopped: a few bytes past a damaged one, or the end of the
  // trailer whose CRC-32 disagrees); what that read had decoded is not returned. A gzip file
  // that ends inside a member first returns what could be decoded, then 0 with truncated().
  size_t read(char* out, size_t capacity);
  bool truncated() const { return truncated_; }

  // Back to the first byte.
  void rewind();

 private:
  // Moves the unread input to the front of the buffer and reads more after it; true when any
  // input is left.
  bool fill();
  // Offset in the file of the next input byte inflate has not consumed.
  uint64_t offset() const { return file_offset_ - stream_.avail_in; }
  // Between members: starts the next one, skips trailing zero bytes, or throws on other bytes.
  // False at the end of the file.
  bool next_member();

  std::string path_;
  std::FILE* file_ = nullptr;
  z_stream stream_{};
  bool inflating_ = false;  // inflateInit2 done
  std::vector<unsigned char> in_;
  uint64_t file_offset_ = 0;  // bytes read from the file so far
  bool input_end_ = false;    // the file has no more bytes
  bool compressed_ = false;
  bool in_member_ = false;  // inside a gzip member (its header read or to be read by inflate)
  bool end_ = false;
  bool truncated_ = false;
};

}  // namespace ptuner::data
