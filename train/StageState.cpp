#include "train/StageState.h"

#include <nlohmann/json.hpp>

#include <cstring>

#include "dist/Check.h"

namespace ptuner::train {

std::string pack_named(const std::map<std::string, torch::Tensor>& tensors) {
  nlohmann::json header = nlohmann::json::array();
  std::string data;
  for (const auto& [name, t] : tensors) {
    auto c = t.detach().cpu().contiguous();
    const size_t n = static_cast<size_t>(c.numel() * c.element_size());
    header.push_back({name, static_cast<int>(c.scalar_type()), c.sizes().vec(), data.size(), n});
    data.append(static_cast<const char*>(c.data_ptr()), n);
  }
  const std::string h = header.dump();
  const uint64_t len = h.size();
  return std::string(reinterpret_cast<const char*>(&len), sizeof len) + h + data;
}

std::map<std::string, torch::Tensor> unpack_named(const std::string& bytes) {
  uint64_t len = 0;
  PTUNER_CHECK(bytes.size() >= sizeof len, "named tensors: {} bytes hold no header", bytes.size());
  std::memcpy(&len, bytes.data(), sizeof len);
  PTUNER_CHECK(sizeof len + len <= bytes.size(), "named tensors: the header runs past the {} bytes", bytes.size());
  const auto header = nlohmann::json::parse(bytes.substr(sizeof len, len));
  const char* data = bytes.data() + sizeof len + len;
  const size_t data_size = bytes.size() - sizeof len - len;
  std::map<std::string, torch::Tensor> out;
  for (const auto& e : header) {
    const auto dtype = static_cast<torch::ScalarType>(e[1].get<int>());
    const auto shape = e[2].get<std::vector<int64_t>>();
    const auto at = e[3].get<size_t>(), n = e[4].get<size_t>();
    PTUNER_CHECK(at + n <= data_size, "named tensors: '{}' runs past the data", e[0].get<std::string>());
    auto t = torch::empty(shape, torch::TensorOptions().dtype(dtype));
    PTUNER_CHECK(static_cast<size_t>(t.numel() * t.element_size()) == n, "named tensors: '{}' has {} bytes for its shape",
                 e[0].get<std::string>(), n);
    std::memcpy(t.data_ptr(), data + at, n);
    out[e[0].get<std::string>()] = t;
  }
  return out;
}

std::map<std::string, torch::Tensor> gather_over_stages(const std::map<std::string, torch::Tensor>& mine,
                                                        dist::Communicator& pp) {
  std::map<std::string, torch::Tensor> all;
  for (const auto& part : pp.all_gather_bytes(pack_named(mine)))
    for (auto& [name, t] : unpack_named(part)) all.emplace(name, t);
  return all;
}

}  // namespace ptuner::train
