#pragma once
// Helpers shared by the loader tests: a scratch directory with the tiny tokenizer, and the
// equality of two batches field by field.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "data/Batch.h"
#include "data/Tokenizer.h"
#include "tests/TestSupport.h"

namespace ptuner::data::loader_testing {

// A fresh <temp>/ptuner_<name>_<pid> directory holding tiny.model, a copy of the 1000-piece
// tokenizer trained on data/assets/tiny_corpus.txt (seed 1234); *tokenizer receives it loaded.
inline std::filesystem::path dir_with_tokenizer(const std::string& name, std::unique_ptr<Tokenizer>* tokenizer) {
  const auto dir = std::filesystem::temp_directory_path() / ("ptuner_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string model = (dir / "tiny.model").string();
  std::filesystem::copy_file(ptuner::testing::tiny_tokenizer(1234), model,
                             std::filesystem::copy_options::overwrite_existing);
  *tokenizer = std::make_unique<Tokenizer>(model);
  return dir;
}

// Every batch's dataset indices, in order.
inline std::vector<int64_t> all_indices(const std::vector<Batch>& batches) {
  std::vector<int64_t> out;
  for (const auto& b : batches) out.insert(out.end(), b.indices.begin(), b.indices.end());
  return out;
}

inline void expect_same_batch(const Batch& a, const Batch& b) {
  EXPECT_EQ(a.indices, b.indices);
  EXPECT_EQ(a.sources, b.sources);
  EXPECT_TRUE(torch::equal(a.input_ids, b.input_ids));
  EXPECT_TRUE(torch::equal(a.attention_mask, b.attention_mask));
  EXPECT_TRUE(torch::equal(a.labels, b.labels));
  EXPECT_EQ(a.num_input_tokens, b.num_input_tokens);
  EXPECT_EQ(a.num_target_tokens, b.num_target_tokens);
}

}  // namespace ptuner::data::loader_testing
