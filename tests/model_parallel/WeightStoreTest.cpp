#include "model_parallel/WeightStore.h"

#include "dist/Check.h"
#include "model_parallel/SafetensorsWriter.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace ptuner::mp {
namespace {

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "message: " << (text)

class WeightStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "weightstore_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    torch::manual_seed(3);
    q_ = torch::randn({8, 4});
    k_ = torch::randn({8, 4}).to(torch::kBFloat16);
    emb_ = torch::randn({16, 4});
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write_text(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ + "/" + name) << text;
  }

  // Two shards: q and k in the first, the embedding in the second.
  void write_sharded() const {
    write_safetensors(dir_ + "/model-00001-of-00002.safetensors",
                      {{"encoder.q.weight", q_}, {"encoder.k.weight", k_}});
    write_safetensors(dir_ + "/model-00002-of-00002.safetensors", {{"shared.weight", emb_}});
    write_text("model.safetensors.index.json", R"({
      "metadata": {"total_size": 448},
      "weight_map": {
        "encoder.q.weight": "model-00001-of-00002.safetensors",
        "encoder.k.weight": "model-00001-of-00002.safetensors",
        "shared.weight": "model-00002-of-00002.safetensors"
      }})");
  }

  static std::string error_of(const std::string& dir) {
    try {
      WeightStore store(dir);
    } catch (const ptuner::Error& e) {
      return e.what();
    }
    return "";
  }

  std::string dir_;
  torch::Tensor q_, k_, emb_;
};

TEST_F(WeightStoreTest, ReadsSingleFileDirectory) {
  write_safetensors(dir_ + "/model.safetensors", {{"b", q_}, {"a", emb_}});
  WeightStore store(dir_);
  EXPECT_EQ(store.dir(), dir_);
  EXPECT_EQ(store.names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(store.contains("a"));
  EXPECT_FALSE(store.contains("c"));
  EXPECT_EQ(store.info("a").shape, (std::vector<int64_t>{16, 4}));
  EXPECT_TRUE(torch::equal(store.load("a"), emb_));
  EXPECT_TRUE(torch::equal(store.load("b", torch::kFloat32), q_));
  EXPECT_TRUE(torch::equal(store.load_slice("b", 0, 2, 4, torch::kFloat32), q_.narrow(0, 2, 4)));
}

TEST_F(WeightStoreTest, ReadsShardedDirectoryThroughIndex) {
  write_sharded();
  // A stray single file must be ignored when the index exists.
  write_safetensors(dir_ + "/model.safetensors", {{"other", torch::zeros({1})}});
  WeightStore store(dir_);
  EXPECT_EQ(store.names(), (std::vector<std::string>{"encoder.k.weight", "encoder.q.weight",
                                                     "shared.weight"}));
  EXPECT_TRUE(torch::equal(store.load("encoder.q.weight"), q_));
  EXPECT_TRUE(torch::equal(store.load("encoder.k.weight", torch::kBFloat16), k_));
  EXPECT_TRUE(torch::equal(store.load("shared.weight"), emb_));
  EXPECT_EQ(store.info("encoder.k.weight").dtype, "BF16");
  EXPECT_TRUE(torch::equal(store.load_slice("shared.weight", 1, 1, 2, torch::kFloat32),
                           emb_.narrow(1, 1, 2)));
  EXPECT_FALSE(store.contains("other"));
}

TEST_F(WeightStoreTest, MissingShardFileNamesItsPath) {
  write_sharded();
  std::filesystem::remove(dir_ + "/model-00002-of-00002.safetensors");
  const std::string msg = error_of(dir_);
  EXPECT_CONTAINS(msg, dir_ + "/model-00002-of-00002.safetensors");
  EXPECT_CONTAINS(msg, "model.safetensors.index.json");
  EXPECT_CONTAINS(msg, "'shared.weight'");
}

TEST_F(WeightStoreTest, IndexNamingTensorAbsentFromShard) {
  write_sharded();
  write_text("model.safetensors.index.json", R"({"weight_map": {
      "encoder.q.weight": "model-00001-of-00002.safetensors",
      "decoder.q.weight": "model-00002-of-00002.safetensors"}})");
  const std::string msg = error_of(dir_);
  EXPECT_CONTAINS(msg, "model.safetensors.index.json");
  EXPECT_CONTAINS(msg, "'decoder.q.weight'");
  EXPECT_CONTAINS(msg, "model-00002-of-00002.safetensors");
}

TEST_F(WeightStoreTest, MalformedIndexNamesIt) {
  write_text("model.safetensors.index.json", R"({"weight_map": [1, 2]})");
  const std::string msg = error_of(dir_);
  EXPECT_CONTAINS(msg, dir_ + "/model.safetensors.index.json");
  EXPECT_CONTAINS(msg, "weight_map");
  write_text("model.safetensors.index.json", "{not json");
  EXPECT_CONTAINS(error_of(dir_), "not valid JSON");
}

TEST_F(WeightStoreTest, MissingDirectoryNamesItAndBothFiles) {
  const std::string missing = dir_ + "/nowhere";
  const std::string msg = error_of(missing);
  EXPECT_CONTAINS(msg, missing);
  EXPECT_CONTAINS(msg, "model.safetensors.index.json");
  EXPECT_CONTAINS(msg, "model.safetensors");
}

TEST_F(WeightStoreTest, DirectoryWithoutWeightsNamesBothFiles) {
  const std::string msg = error_of(dir_);
  EXPECT_CONTAINS(msg, dir_);
  EXPECT_CONTAINS(msg, "model.safetensors.index.json");
  EXPECT_CONTAINS(msg, "nor model.safetensors");
}

TEST_F(WeightStoreTest, MissingTensorNamesDirectoryAndTensor) {
  write_sharded();
  WeightStore store(dir_);
  const std::string name = "encoder.block.3.layer.0.SelfAttention.q.weight";
  for (int call = 0; call < 3; ++call) {
    try {
      if (call == 0) store.info(name);
      if (call == 1) store.load(name);
      if (call == 2) store.load_slice(name, 0, 0, 1, torch::kFloat32);
      FAIL() << "expected ptuner::Error";
    } catch (const ptuner::Error& e) {
      EXPECT_CONTAINS(e.what(), "checkpoint " + dir_ + " has no tensor '" + name + "'");
    }
  }
}

TEST_F(WeightStoreTest, PresentInFollowsTheFilesTheConstructorReads) {
  EXPECT_FALSE(WeightStore::present_in(dir_));
  EXPECT_FALSE(WeightStore::present_in(dir_ + "/nowhere"));
  write_text("model.safetensors.index.json", "{}");
  EXPECT_TRUE(WeightStore::present_in(dir_));
  std::filesystem::remove(dir_ + "/model.safetensors.index.json");
  write_safetensors(dir_ + "/model.safetensors", {{"a", q_}});
  EXPECT_TRUE(WeightStore::present_in(dir_));
  // A directory of that name is not the file.
  std::filesystem::remove(dir_ + "/model.safetensors");
  std::filesystem::create_directory(dir_ + "/model.safetensors");
  EXPECT_FALSE(WeightStore::present_in(dir_));
}

TEST_F(WeightStoreTest, EmbeddingNameIsSharedOrWhereTheCheckpointKeptIt) {
  const auto name_in = [&](const std::vector<std::string>& names) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directory(dir_);
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (const auto& n : names) tensors.emplace_back(n, emb_);
    write_safetensors(dir_ + "/model.safetensors", tensors);
    return WeightStore(dir_).embedding_name();
  };
  EXPECT_EQ(name_in({"decoder.embed_tokens.weight", "encoder.embed_tokens.weight", "shared.weight"}), "shared.weight");
  EXPECT_EQ(name_in({"decoder.embed_tokens.weight", "encoder.embed_tokens.weight"}), "encoder.embed_tokens.weight");
  EXPECT_EQ(name_in({"decoder.embed_tokens.weight", "lm_head.weight"}), "decoder.embed_tokens.weight");
  EXPECT_EQ(name_in({"lm_head.weight"}), "");
}

}  // namespace
}  // namespace ptuner::mp
