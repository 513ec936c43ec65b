#include "model_parallel/SafetensorsWriter.h"

#include "dist/Check.h"
#include "model_parallel/TensorInfo.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>

namespace ptuner::mp {
namespace {

// Closes the FILE* on scope exit; fclose errors are checked explicitly before that.
struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f != nullptr) std::fclose(f);
  }
};

void write_all(std::FILE* f, const void* data, size_t size, const std::string& tmp) {
  if (size == 0) return;
  PTUNER_CHECK(std::fwrite(data, 1, size, f) == size,
               "safetensors {}: write of {} bytes failed: {}", tmp, size, std::strerror(errno));
}

}  // namespace

void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;

  std::vector<torch::Tensor> contiguous;
  contiguous.reserve(tensors.size());
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    PTUNER_CHECK(!name.empty() && name != "__metadata__",
                 "safetensors {}: invalid tensor name '{}'", path, name);
    PTUNER_CHECK(seen.insert(name).second, "safetensors {}: tensor '{}' given twice", path, name);
    PTUNER_CHECK(tensor.defined(), "safetensors {}: tensor '{}' is undefined", path, name);
    auto dtype = safetensors_dtype_name(tensor.scalar_type());
    PTUNER_CHECK(dtype.has_value(), "safetensors {}: tensor '{}' has dtype {} that safetensors "
                 "cannot store", path, name, c10::toString(tensor.scalar_type()));
    torch::Tensor t = tensor.to(torch::kCPU).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    header[name] = {{"dtype", *dtype},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", nlohmann::json::array({offset, offset + bytes})}};
    offset += bytes;
    contiguous.push_back(std::move(t));
  }

  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // data buffer starts 8-byte aligned
  const uint64_t header_size = text.size();     // host is little-endian (see SafetensorsFile)

  const std::string tmp = path + ".tmp";
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(tmp.c_str(), "wb"));
  PTUNER_CHECK(file != nullptr, "safetensors {}: cannot create: {}", tmp, std::strerror(errno));
  try {
    write_all(file.get(), &header_size, 8, tmp);
    write_all(file.get(), text.data(), text.size(), tmp);
    for (const torch::Tensor& t : contiguous)
      write_all(file.get(), t.data_ptr(), static_cast<size_t>(t.numel()) * t.element_size(), tmp);
    PTUNER_CHECK(std::fflush(file.get()) == 0, "safetensors {}: flush failed: {}", tmp,
                 std::strerror(errno));
    PTUNER_CHECK(std::fclose(file.release()) == 0, "safetensors {}: close failed: {}", tmp,
                 std::strerror(errno));
    PTUNER_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0,
                 "safetensors {}: cannot rename {} to it: {}", path, tmp, std::strerror(errno));
  } catch (...) {
    file.reset();
    std::remove(tmp.c_str());
    throw;
  }
}

}  // namespace ptuner::mp
