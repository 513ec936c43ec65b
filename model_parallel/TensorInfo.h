#pragma once
// One entry of a safetensors header: the tensor's dtype, shape and its byte range
// [begin, end) inside the data buffer that follows the header.
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ptuner::mp {

struct TensorInfo {
  std::string name;
  std::string dtype;  // safetensors spelling: "F32", "BF16", "I64", ...
  torch::ScalarType scalar_type = torch::kFloat32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // relative to the first byte after the header
  uint64_t end = 0;

  // Product of the dims; 1 for a 0-d scalar.
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// The dtypes safetensors names and their LibTorch counterparts (same byte layout, little-endian).
inline const std::array<std::pair<const char*, torch::ScalarType>, 10>& safetensors_dtypes() {
  static const std::array<std::pair<const char*, torch::ScalarType>, 10> table{{
      {"F64", torch::kFloat64},
      {"F32", torch::kFloat32},
      {"F16", torch::kFloat16},
      {"BF16", torch::kBFloat16},
      {"I64", torch::kInt64},
      {"I32", torch::kInt32},
      {"I16", torch::kInt16},
      {"I8", torch::kInt8},
      {"U8", torch::kUInt8},
      {"BOOL", torch::kBool},
  }};
  return table;
}

// "BF16" -> kBFloat16; nullopt for a name safetensors does not define here.
inline std::optional<torch::ScalarType> safetensors_scalar_type(const std::string& dtype) {
  for (const auto& [name, type] : safetensors_dtypes())
    if (dtype == name) return type;
  return std::nullopt;
}

// kBFloat16 -> "BF16"; nullopt for a type with no safetensors name (complex, quantised, ...).
inline std::optional<std::string> safetensors_dtype_name(torch::ScalarType type) {
  for (const auto& [name, t] : safetensors_dtypes())
    if (t == type) return std::string(name);
  return std::nullopt;
}

}  // namespace ptuner::mp
