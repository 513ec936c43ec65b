#pragma once
// A safetensors file, memory-mapped read-only and validated completely when opened.
//
// Layout: u64 little-endian N | N bytes of UTF-8 JSON header | data buffer.
// Header: {"<name>": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}, ...,
//          "__metadata__": {"<key>": "<value>", ...}}   (metadata optional)
// Offsets are relative to the data buffer; the tensors tile it exactly (no overlap, no hole)
// and end - begin = numel * element size.
//
// Loads copy out of the mapping (optionally only a slice along one dim, for TP sharding) and
// convert the dtype; the returned tensors never alias the mapping.
#include "model_parallel/TensorInfo.h"

#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ptuner::mp {

class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  bool contains(const std::string& name) const { return tensors_.count(name) > 0; }
  std::vector<std::string> names() const;  // sorted
  const TensorInfo& info(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // The whole tensor as an owned contiguous copy in `dtype`.
  torch::Tensor load(const std::string& name, torch::ScalarType dtype = torch::kFloat32) const;
  // Only rows [start, start + length) along `dim`, as an owned contiguous copy in `dtype`:
  // equals load(name).narrow(dim, start, length) without materialising the rest.
  torch::Tensor load_slice(const std::string& name, int64_t dim, int64_t start, int64_t length,
                           torch::ScalarType dtype = torch::kFloat32) const;

 private:
  void parse_header(const std::string& header, uint64_t data_size);
  void check_tiling(uint64_t data_size) const;
  const uint8_t* tensor_bytes(const TensorInfo& info) const { return data_ + info.begin; }
  // Drops the tensor's mapped pages from this process's resident set once copied: reading a
  // column slice touches every page of the tensor, and they must not add up across tensors.
  void release(const TensorInfo& info) const;

  std::string path_;
  void* map_ = nullptr;  // whole file, PROT_READ
  size_t map_size_ = 0;
  const uint8_t* data_ = nullptr;  // first byte after the header
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace ptuner::mp
