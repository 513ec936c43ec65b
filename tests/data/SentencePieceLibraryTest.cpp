#include <gtest/gtest.h>
#include <sentencepiece_processor.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "data/SentencePieceLibrary.h"

namespace fs = std::filesystem;
using ptuner::data::SentencePieceLibrary;

// sentencepiece and LibTorch in one process: train, load, encode, decode, and use torch after.
TEST(SentencePieceLibraryTest, WorksNextToLibTorch) {
  const auto before = torch::arange(4).sum().item<int64_t>();
  EXPECT_EQ(before, 6);
  const auto& lib = SentencePieceLibrary::instance();
  EXPECT_TRUE(lib.isolated()) << "libsentencepiece is linked directly into the test program";

  const fs::path dir =
      fs::temp_directory_path() / ("ptuner_splib_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string prefix = (dir / "m").string();
  const std::string error =
      lib.train({{"input", std::string(PTUNER_SOURCE_DIR) + "/data/assets/tiny_corpus.txt"},
                 {"model_prefix", prefix},
                 {"vocab_size", "300"},
                 {"hard_vocab_limit", "false"},
                 {"num_threads", "1"},
                 {"minloglevel", "1"}});
  ASSERT_EQ(error, "");

  auto sp = lib.new_processor();
  ASSERT_EQ(lib.load(*sp, prefix + ".model"), "");
  EXPECT_GT(sp->GetPieceSize(), 100);
  std::vector<int> ids;
  ASSERT_EQ(lib.encode(*sp, "the review is positive", ids), "");
  EXPECT_FALSE(ids.empty());
  std::string text;
  ASSERT_EQ(lib.decode(*sp, ids, text), "");
  EXPECT_EQ(text, "the review is positive");

  auto other = lib.new_processor();
  const std::string missing = lib.load(*other, (dir / "missing.model").string());
  EXPECT_NE(missing, "");
  EXPECT_EQ(torch::ones({3}).sum().item<float>(), 3.0f);
  fs::remove_all(dir);
}
