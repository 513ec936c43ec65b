#pragma once
// write_safetensors: the tensors, in the given order, as one safetensors file
// (u64 LE header length | JSON header padded with spaces to a multiple of 8 | raw LE bytes).
// Written to `path + ".tmp"` and renamed over `path`, so readers never see a partial file.
#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ptuner::mp {

// Each tensor is written in its own dtype (F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL);
// non-contiguous or non-CPU tensors are copied to contiguous CPU first.
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace ptuner::mp
