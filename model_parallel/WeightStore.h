#pragma once
// The weights of a HuggingFace model directory: either `model.safetensors`, or the shards named
// by `model.safetensors.index.json` ({"metadata": {...}, "weight_map": {tensor: shard file}}).
// Each file is memory-mapped once; loads copy only what is asked for (see SafetensorsFile).
#include "model_parallel/SafetensorsFile.h"
#include "model_parallel/TensorInfo.h"

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ptuner::mp {

class WeightStore {
 public:
  explicit WeightStore(const std::string& dir);
  // Whether dir holds the files the constructor reads (the index or the single file).
  static bool present_in(const std::string& dir);

  const std::string& dir() const { return dir_; }
  bool contains(const std::string& name) const { return files_.count(name) > 0; }
  std::vector<std::string> names() const;  // sorted
  // The tensor holding the shared token embedding: `shared.weight`, or where a checkpoint was
  // saved without it, `encoder.embed_tokens.weight` or `decoder.embed_tokens.weight` (the same
  // values in T5); empty where there is none.
  std::string embedding_name() const;
  const TensorInfo& info(const std::string& name) const;
  torch::Tensor load(const std::string& name, torch::ScalarType dtype = torch::kFloat32) const;
  torch::Tensor load_slice(const std::string& name, int64_t dim, int64_t start, int64_t length,
                           torch::ScalarType dtype = torch::kFloat32) const;

 private:
  void open_index(const std::string& index_path);
  const SafetensorsFile& file_of(const std::string& name) const;

  std::string dir_;
  std::map<std::string, std::shared_ptr<SafetensorsFile>> files_;  // tensor name -> its file
};

}  // namespace ptuner::mp
