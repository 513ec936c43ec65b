#include "model_parallel/SafetensorsFile.h"

#include "dist/Check.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <tuple>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors stores little-endian bytes; this reader copies them as they are");

namespace ptuner::mp {
namespace {

using nlohmann::json;

// A JSON value as text for an error message, cut to a readable length.
std::string brief(const json& value) {
  std::string text = value.dump();
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  PTUNER_CHECK(fd >= 0, "safetensors {}: cannot open: {}", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    PTUNER_FAIL("safetensors {}: cannot stat: {}", path, std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    PTUNER_FAIL("safetensors {}: not a regular file", path);
  }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    ::close(fd);
    PTUNER_FAIL("safetensors {}: file has {} bytes, shorter than the 8-byte header length", path,
                file_size);
  }
  map_size_ = static_cast<size_t>(file_size);
  void* map = ::mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, fd, 0);
  int map_err = errno;
  ::close(fd);
  PTUNER_CHECK(map != MAP_FAILED, "safetensors {}: cannot mmap {} bytes: {}", path, map_size_,
               std::strerror(map_err));
  map_ = map;

  try {
    const auto* bytes = static_cast<const uint8_t*>(map_);
    uint64_t header_size = 0;
    std::memcpy(&header_size, bytes, 8);  // little-endian u64
    PTUNER_CHECK(header_size <= file_size - 8,
                 "safetensors {}: header length {} exceeds the {} bytes that follow it", path,
                 header_size, file_size - 8);
    data_ = bytes + 8 + header_size;
    const uint64_t data_size = file_size - 8 - header_size;
    parse_header(std::string(reinterpret_cast<const char*>(bytes + 8), header_size), data_size);
    check_tiling(data_size);
  } catch (...) {
    ::munmap(map_, map_size_);
    map_ = nullptr;
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr) ::munmap(map_, map_size_);
}

void SafetensorsFile::parse_header(const std::string& text, uint64_t data_size) {
  json header;
  try {
    header = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number too large (fuzzing found it)
    PTUNER_FAIL("safetensors {}: header is not valid JSON: {}", path_, e.what());
  }
  PTUNER_CHECK(header.is_object(), "safetensors {}: header must be a JSON object, got {}", path_,
               brief(header));

  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      PTUNER_CHECK(entry.is_object(), "safetensors {}: __metadata__ must be an object, got {}",
                   path_, brief(entry));
      for (const auto& [key, value] : entry.items()) {
        PTUNER_CHECK(value.is_string(),
                     "safetensors {}: __metadata__ value of '{}' must be a string, got {}", path_,
                     key, brief(value));
        metadata_[key] = value.get<std::string>();
      }
      continue;
    }

    PTUNER_CHECK(entry.is_object(), "safetensors {}: tensor '{}': entry must be an object, got {}",
                 path_, name, brief(entry));
    for (const char* key : {"dtype", "shape", "data_offsets"})
      PTUNER_CHECK(entry.contains(key), "safetensors {}: tensor '{}' lacks \"{}\"", path_, name,
                   key);

    TensorInfo info;
    info.name = name;

    const json& dtype = entry["dtype"];
    PTUNER_CHECK(dtype.is_string(), "safetensors {}: tensor '{}': dtype must be a string, got {}",
                 path_, name, brief(dtype));
    info.dtype = dtype.get<std::string>();
    auto scalar_type = safetensors_scalar_type(info.dtype);
    PTUNER_CHECK(scalar_type.has_value(), "safetensors {}: tensor '{}' has unknown dtype '{}'",
                 path_, name, info.dtype);
    info.scalar_type = *scalar_type;

    const json& shape = entry["shape"];
    PTUNER_CHECK(shape.is_array(), "safetensors {}: tensor '{}': shape must be an array, got {}",
                 path_, name, brief(shape));
    uint64_t numel = 1;
    bool numel_overflow = false;
    for (const json& dim : shape) {
      PTUNER_CHECK(dim.is_number_integer(),
                   "safetensors {}: tensor '{}': shape {} has a non-integer dim {}", path_, name,
                   brief(shape), brief(dim));
      PTUNER_CHECK(!dim.is_number_unsigned() ||
                       dim.get<uint64_t>() <= uint64_t(std::numeric_limits<int64_t>::max()),
                   "safetensors {}: tensor '{}': dim {} in shape {} is too large", path_, name,
                   brief(dim), brief(shape));
      const int64_t d = dim.get<int64_t>();
      PTUNER_CHECK(d >= 0, "safetensors {}: tensor '{}' has negative dim {} in shape {}", path_,
                   name, d, brief(shape));
      info.shape.push_back(d);
      numel_overflow |= __builtin_mul_overflow(numel, uint64_t(d), &numel);
    }

    const json& offsets = entry["data_offsets"];
    PTUNER_CHECK(offsets.is_array() && offsets.size() == 2 && offsets[0].is_number_unsigned() &&
                     offsets[1].is_number_unsigned(),
                 "safetensors {}: tensor '{}': data_offsets must be two non-negative integers "
                 "[begin, end], got {}",
                 path_, name, brief(offsets));
    info.begin = offsets[0].get<uint64_t>();
    info.end = offsets[1].get<uint64_t>();
    PTUNER_CHECK(info.end >= info.begin,
                 "safetensors {}: tensor '{}' has data_offsets [{}, {}] with end < begin", path_,
                 name, info.begin, info.end);
    PTUNER_CHECK(info.end <= data_size,
                 "safetensors {}: tensor '{}' ends at byte {}, beyond the data buffer of {} bytes",
                 path_, name, info.end, data_size);

    const uint64_t elem_size = torch::elementSize(info.scalar_type);
    uint64_t expected = 0;
    numel_overflow |= __builtin_mul_overflow(numel, elem_size, &expected);
    PTUNER_CHECK(!numel_overflow && info.end - info.begin == expected,
                 "safetensors {}: tensor '{}' spans {} bytes [{}, {}) but shape {} of {} needs {}",
                 path_, name, info.end - info.begin, info.begin, info.end,
                 shape_text(info.shape), info.dtype,
                 numel_overflow ? std::string("more than 2^64") : std::to_string(expected));

    tensors_.emplace(name, std::move(info));
  }
}

// The byte ranges, sorted by (begin, end), must follow each other with no overlap and no hole
// and end exactly at the end of the data buffer.
void SafetensorsFile::check_tiling(uint64_t data_size) const {
  std::vector<const TensorInfo*> order;
  order.reserve(tensors_.size());
  for (const auto& entry : tensors_) order.push_back(&entry.second);
  std::sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return std::tie(a->begin, a->end, a->name) < std::tie(b->begin, b->end, b->name);
  });

  uint64_t covered = 0;
  const TensorInfo* previous = nullptr;
  for (const TensorInfo* info : order) {
    PTUNER_CHECK(info->begin >= covered,
                 "safetensors {}: tensor '{}' [{}, {}) overlaps tensor '{}' [{}, {})", path_,
                 info->name, info->begin, info->end, previous ? previous->name : "",
                 previous ? previous->begin : 0, previous ? previous->end : 0);
    PTUNER_CHECK(info->begin == covered,
                 "safetensors {}: bytes [{}, {}) of the data buffer belong to no tensor (hole "
                 "before tensor '{}')",
                 path_, covered, info->begin, info->name);
    covered = info->end;
    previous = info;
  }
  PTUNER_CHECK(covered == data_size,
               "safetensors {}: bytes [{}, {}) at the end of the data buffer belong to no tensor",
               path_, covered, data_size);
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& entry : tensors_) out.push_back(entry.first);
  return out;  // std::map keeps them sorted
}

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = tensors_.find(name);
  PTUNER_CHECK(it != tensors_.end(), "safetensors {} has no tensor '{}'", path_, name);
  return it->second;
}

void SafetensorsFile::release(const TensorInfo& meta) const {
  if (meta.end == meta.begin) return;
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto first = reinterpret_cast<uintptr_t>(tensor_bytes(meta)) / page * page;
  const auto last = reinterpret_cast<uintptr_t>(tensor_bytes(meta) + (meta.end - meta.begin));
  ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);  // advisory: failure is harmless
}

torch::Tensor SafetensorsFile::load(const std::string& name, torch::ScalarType dtype) const {
  const TensorInfo& meta = info(name);
  torch::Tensor out = torch::empty(meta.shape, torch::TensorOptions().dtype(meta.scalar_type));
  if (meta.end > meta.begin) std::memcpy(out.data_ptr(), tensor_bytes(meta), meta.end - meta.begin);
  release(meta);
  return out.to(dtype);
}

// The mapped bytes are viewed as uint8 with the last dim widened by the element size, so the
// view needs no alignment; narrowing that view along `dim` (in bytes when `dim` is the last)
// and copying it into a fresh tensor of the stored dtype reads only the slice.
torch::Tensor SafetensorsFile::load_slice(const std::string& name, int64_t dim, int64_t start,
                                          int64_t length, torch::ScalarType dtype) const {
  const TensorInfo& meta = info(name);
  const int64_t ndim = static_cast<int64_t>(meta.shape.size());
  PTUNER_CHECK(dim >= 0 && dim < ndim,
               "safetensors {}: tensor '{}' of shape {} has no dim {} to slice", path_, name,
               shape_text(meta.shape), dim);
  const int64_t size = meta.shape[dim];
  PTUNER_CHECK(start >= 0 && length >= 0 && start <= size && length <= size - start,
               "safetensors {}: tensor '{}' of shape {}: slice [{}, {}) along dim {} is outside "
               "[0, {})",
               path_, name, shape_text(meta.shape), start, start + length, dim, size);

  std::vector<int64_t> out_shape = meta.shape;
  out_shape[dim] = length;
  torch::Tensor out = torch::empty(out_shape, torch::TensorOptions().dtype(meta.scalar_type));
  if (out.numel() > 0) {
    const int64_t elem = static_cast<int64_t>(torch::elementSize(meta.scalar_type));
    const bool last = dim == ndim - 1;
    std::vector<int64_t> src_shape = meta.shape;
    src_shape.back() *= elem;
    torch::Tensor src = torch::from_blob(const_cast<uint8_t*>(tensor_bytes(meta)), src_shape,
                                         torch::TensorOptions().dtype(torch::kUInt8));
    src = last ? src.narrow(dim, start * elem, length * elem) : src.narrow(dim, start, length);
    std::vector<int64_t> dst_shape = out_shape;
    dst_shape.back() *= elem;
    torch::from_blob(out.data_ptr(), dst_shape, torch::TensorOptions().dtype(torch::kUInt8))
        .copy_(src);
  }
  release(meta);
  return out.to(dtype);
}

}  // namespace ptuner::mp
