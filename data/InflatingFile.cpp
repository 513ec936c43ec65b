#include "data/InflatingFile.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "dist/Check.h"

namespace ptuner::data {

namespace {
constexpr size_t kInputBytes = 1u << 18;
}  // namespace

InflatingFile::InflatingFile(const std::string& path) : path_(path), in_(kInputBytes) {
  errno = 0;
  file_ = std::fopen(path.c_str(), "rb");
  PTUNER_CHECK(file_ != nullptr, "cannot open data file '{}': {}", path,
               errno != 0 ? std::strerror(errno) : "unknown error");
  try {
    stream_.next_in = in_.data();
    fill();
    compressed_ = stream_.avail_in >= 2 && in_[0] == 0x1f && in_[1] == 0x8b;
    if (compressed_) {
      // 16 + 15: a gzip wrapper (header and CRC-32/size trailer checked), windows up to 32 KiB.
      const int rc = inflateInit2(&stream_, 16 + MAX_WBITS);
      PTUNER_CHECK(rc == Z_OK, "data file '{}': zlib's inflateInit2 failed ({})", path,
                   stream_.msg != nullptr ? stream_.msg : std::to_string(rc));
      inflating_ = true;
    }
  } catch (...) {
    std::fclose(file_);  // the destructor does not run for a constructor that throws
    throw;
  }
}

InflatingFile::~InflatingFile() {
  if (inflating_) inflateEnd(&stream_);
  if (file_ != nullptr) std::fclose(file_);
}

bool InflatingFile::fill() {
  if (stream_.avail_in > 0 && stream_.next_in != in_.data())
    std::memmove(in_.data(), stream_.next_in, stream_.avail_in);
  stream_.next_in = in_.data();
  const size_t space = in_.size() - stream_.avail_in;
  if (input_end_ || space == 0) return stream_.avail_in > 0;
  errno = 0;
  const size_t got = std::fread(in_.data() + stream_.avail_in, 1, space, file_);
  if (got < space) {
    PTUNER_CHECK(!std::ferror(file_), "cannot read data file '{}' at byte {}: {}", path_,
                 file_offset_ + got, errno != 0 ? std::strerror(errno) : "read error");
    input_end_ = true;
  }
  file_offset_ += got;
  stream_.avail_in += static_cast<uInt>(got);
  return stream_.avail_in > 0;
}

bool InflatingFile::next_member() {
  for (;;) {
    if (stream_.avail_in < 2) fill();
    if (stream_.avail_in == 0) return false;
    if (stream_.avail_in == 1 && input_end_ && stream_.next_in[0] == 0x1f) {
      // The file ends one byte into the next member's header: a cut, not junk.
      truncated_ = true;
      return false;
    }
    if (stream_.avail_in >= 2 && stream_.next_in[0] == 0x1f && stream_.next_in[1] == 0x8b) {
      PTUNER_CHECK(inflateReset(&stream_) == Z_OK, "data file '{}': zlib's inflateReset failed", path_);
      in_member_ = true;
      return true;
    }
    PTUNER_CHECK(stream_.next_in[0] == 0,
                 "data file '{}': damaged gzip stream: byte {} after the end of a gzip member is "
                 "neither another member nor zero padding",
                 path_, offset());
    while (stream_.avail_in > 0 && stream_.next_in[0] == 0) {
      ++stream_.next_in;
      --stream_.avail_in;
    }
  }
}

size_t InflatingFile::read(char* out, size_t capacity) {
  if (end_ || capacity == 0) return 0;
  capacity = std::min<size_t>(capacity, UINT_MAX);
  if (!compressed_) {
    size_t n = 0;
    while (n < capacity) {
      if (stream_.avail_in == 0 && !fill()) {
        end_ = true;
        break;
      }
      const size_t k = std::min<size_t>(capacity - n, stream_.avail_in);
      std::memcpy(out + n, stream_.next_in, k);
      stream_.next_in += k;
      stream_.avail_in -= static_cast<uInt>(k);
      n += k;
    }
    return n;
  }
  stream_.next_out = reinterpret_cast<Bytef*>(out);
  stream_.avail_out = static_cast<uInt>(capacity);
  while (stream_.avail_out > 0) {
    if (!in_member_ && !next_member()) {
      end_ = true;
      break;
    }
    if (stream_.avail_in == 0) fill();
    const int rc = inflate(&stream_, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      in_member_ = false;
    } else if (rc == Z_BUF_ERROR) {
      // No progress was possible: inflate wants input the file does not have.
      if (stream_.avail_in == 0 && input_end_) {
        truncated_ = true;
        end_ = true;
        break;
      }
    } else if (rc != Z_OK) {
      PTUNER_FAIL("data file '{}': damaged gzip stream at about byte {}: {}", path_, offset(),
                  rc == Z_MEM_ERROR  ? "zlib is out of memory"
                  : stream_.msg != nullptr ? stream_.msg
                                           : "zlib error " + std::to_string(rc));
    }
  }
  return capacity - stream_.avail_out;
}

void InflatingFile::rewind() {
  PTUNER_CHECK(std::fseek(file_, 0, SEEK_SET) == 0, "cannot rewind data file '{}': {}", path_,
               std::strerror(errno));
  std::clearerr(file_);
  stream_.next_in = in_.data();
  stream_.avail_in = 0;
  file_offset_ = 0;
  input_end_ = in_member_ = end_ = truncated_ = false;
}

}  // namespace ptuner::data
