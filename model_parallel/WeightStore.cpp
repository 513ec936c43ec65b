#include "model_parallel/WeightStore.h"

#include "dist/Check.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace ptuner::mp {
namespace fs = std::filesystem;

namespace {
constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";
}  // namespace

WeightStore::WeightStore(const std::string& dir) : dir_(dir) {
  const fs::path index = fs::path(dir) / kIndexFile;
  const fs::path single = fs::path(dir) / kSingleFile;
  std::error_code ec;
  PTUNER_CHECK(fs::is_directory(dir, ec),
               "checkpoint {}: no such directory (expected {} or {} in it)", dir, kIndexFile,
               kSingleFile);
  if (fs::is_regular_file(index, ec)) {
    open_index(index.string());
    return;
  }
  PTUNER_CHECK(fs::is_regular_file(single, ec),
               "checkpoint {}: neither {} nor {} found (is this a HuggingFace model directory?)",
               dir, kIndexFile, kSingleFile);
  auto file = std::make_shared<SafetensorsFile>(single.string());
  for (const std::string& name : file->names()) files_.emplace(name, file);
}

bool WeightStore::present_in(const std::string& dir) {
  std::error_code ec;
  return fs::is_regular_file(fs::path(dir) / kIndexFile, ec) || fs::is_regular_file(fs::path(dir) / kSingleFile, ec);
}

std::string WeightStore::embedding_name() const {
  for (const char* name : {"shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight"})
    if (contains(name)) return name;
  return {};
}

void WeightStore::open_index(const std::string& index_path) {
  std::ifstream in(index_path);
  PTUNER_CHECK(in.good(), "checkpoint index {}: cannot open", index_path);
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number too large
    PTUNER_FAIL("checkpoint index {}: not valid JSON: {}", index_path, e.what());
  }
  PTUNER_CHECK(index.is_object() && index.contains("weight_map") && index["weight_map"].is_object(),
               "checkpoint index {}: expected an object with a \"weight_map\" object", index_path);

  std::map<std::string, std::shared_ptr<SafetensorsFile>> shards;  // shard file name -> file
  for (const auto& [name, shard] : index["weight_map"].items()) {
    PTUNER_CHECK(shard.is_string(),
                 "checkpoint index {}: weight_map entry of tensor '{}' must be a file name, got {}",
                 index_path, name, shard.dump());
    const std::string shard_name = shard.get<std::string>();
    auto it = shards.find(shard_name);
    if (it == shards.end()) {
      const fs::path shard_path = fs::path(dir_) / shard_name;
      std::error_code ec;
      PTUNER_CHECK(fs::is_regular_file(shard_path, ec),
                   "checkpoint index {}: shard file {} (holding tensor '{}') does not exist",
                   index_path, shard_path.string(), name);
      it = shards.emplace(shard_name, std::make_shared<SafetensorsFile>(shard_path.string())).first;
    }
    PTUNER_CHECK(it->second->contains(name),
                 "checkpoint index {}: tensor '{}' is mapped to shard {}, which does not hold it",
                 index_path, name, it->second->path());
    files_.emplace(name, it->second);
  }
}

std::vector<std::string> WeightStore::names() const {
  std::vector<std::string> out;
  out.reserve(files_.size());
  for (const auto& entry : files_) out.push_back(entry.first);
  return out;
}

const SafetensorsFile& WeightStore::file_of(const std::string& name) const {
  auto it = files_.find(name);
  PTUNER_CHECK(it != files_.end(), "checkpoint {} has no tensor '{}'", dir_, name);
  return *it->second;
}

const TensorInfo& WeightStore::info(const std::string& name) const {
  return file_of(name).info(name);
}

torch::Tensor WeightStore::load(const std::string& name, torch::ScalarType dtype) const {
  return file_of(name).load(name, dtype);
}

torch::Tensor WeightStore::load_slice(const std::string& name, int64_t dim, int64_t start,
                                      int64_t length, torch::ScalarType dtype) const {
  return file_of(name).load_slice(name, dim, start, length, dtype);
}

}  // namespace ptuner::mp
