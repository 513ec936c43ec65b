#pragma once
// RAII wrapper over one HDF5 file (serial HDF5 C API). Paths inside the file are
// slash-separated ("prompt/embedding"); writing creates the intermediate groups.
//
// Stored forms:
//   tensor  dataset of the tensor's shape (0-d -> scalar dataspace) with an IEEE/integer type:
//           f32, f64, i64, i32, u8 as themselves; bf16 / f16 as raw u16 bits and bool as u8,
//           each with a string attribute "dtype" = "bfloat16" / "float16" / "bool" to restore it
//   string  scalar variable-length UTF-8 string (fixed-length strings are read as well)
//   int     scalar i64;  double: scalar f64;  bytes: 1-d u8 of the bytes' length
// Every HDF5 call is checked; errors name the file and the path inside it.
// HDF5 (serial build) is not thread-safe: use one H5File from one thread at a time.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ptuner::train {

class H5File {
 public:
  // Memory: a new file built in memory (HDF5's core driver, no backing store); `path` only
  // names it in messages, nothing touches the disk, and image() gives its bytes for the caller
  // to write. (HDF5 2.x as Debian builds it aborts on an assertion when a write fails, as on a
  // full disk, instead of returning an error: a caller that writes the bytes itself keeps every
  // I/O error its own.)
  enum class Mode { Read, Truncate, Memory };

  // `userblock_bytes` (Truncate, Memory: 0, or a power of two >= 512) reserves that many bytes
  // at the start of the file for the caller; HDF5 ignores them (and finds its data after them).
  // `expected_bytes` (Memory): about the file's size, so that the image grows in one or two
  // steps rather than in many copies.
  H5File(const std::string& path, Mode mode, int64_t userblock_bytes = 0, int64_t expected_bytes = 0);
  ~H5File();
  H5File(const H5File&) = delete;
  H5File& operator=(const H5File&) = delete;

  const std::string& path() const { return path_; }
  // Flushes and closes the file, throwing on failure (the destructor closes quietly).
  // Any later call throws.
  void close();
  // Memory: the file's bytes as they would be on disk (the user block first, zeros), after a
  // flush. Call before close().
  std::vector<uint8_t> image();

  void write_tensor(const std::string& path_in_file, const torch::Tensor& t);
  torch::Tensor read_tensor(const std::string& path_in_file) const;

  // True when a group or dataset exists at that path (intermediate groups included).
  bool has(const std::string& path_in_file) const;
  // Names of the direct children of a group ("" or "/" = root), sorted.
  std::vector<std::string> list(const std::string& group) const;

  void write_string(const std::string& path_in_file, const std::string& value);
  std::string read_string(const std::string& path_in_file) const;
  void write_int(const std::string& path_in_file, int64_t value);
  int64_t read_int(const std::string& path_in_file) const;
  void write_double(const std::string& path_in_file, double value);
  double read_double(const std::string& path_in_file) const;
  void write_bytes(const std::string& path_in_file, const std::vector<uint8_t>& value);
  std::vector<uint8_t> read_bytes(const std::string& path_in_file) const;

 private:
  int64_t id() const;  // the open file's hid_t
  // Creates a dataset (and its parent groups) at a path that must not exist yet.
  // create_props: a dataset creation property list (H5P_DEFAULT when negative).
  int64_t create_dataset(const std::string& path_in_file, int64_t file_type, int64_t space,
                         int64_t create_props = -1);
  int64_t open_dataset(const std::string& path_in_file) const;

  std::string path_;
  Mode mode_;
  int64_t userblock_bytes_ = 0;
  int64_t file_ = -1;  // hid_t
};

}  // namespace ptuner::train
