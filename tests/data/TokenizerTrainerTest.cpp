#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "data/Tokenizer.h"
#include "data/TokenizerTrainer.h"
#include "dist/Check.h"

namespace fs = std::filesystem;
using ptuner::data::train_t5_tokenizer;

namespace {

std::string corpus() { return std::string(PTUNER_SOURCE_DIR) + "/data/assets/tiny_corpus.txt"; }

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

class TokenizerTrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ptuner_trainer_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(TokenizerTrainerTest, TrainingTwiceGivesIdenticalFiles) {
  const fs::path a = dir_ / "a.model", b = dir_ / "b.model";
  train_t5_tokenizer(corpus(), a.string(), 1000, 7);
  train_t5_tokenizer(corpus(), b.string(), 1000, 7);
  const std::string bytes_a = slurp(a), bytes_b = slurp(b);
  ASSERT_GT(bytes_a.size(), 1000u);
  EXPECT_TRUE(bytes_a == bytes_b) << "models differ: " << bytes_a.size() << " vs " << bytes_b.size()
                                  << " bytes";
}

TEST_F(TokenizerTrainerTest, WritesExactlyTheModelFile) {
  const fs::path out = dir_ / "spiece.model";
  train_t5_tokenizer(corpus(), out.string(), 500, 1);
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    ++files;
    EXPECT_EQ(entry.path().filename(), "spiece.model");
  }
  EXPECT_EQ(files, 1u);
  const ptuner::data::Tokenizer tok(out.string());
  EXPECT_EQ(tok.eos_id(), 1);
  EXPECT_GT(tok.piece_size(), 200);
  EXPECT_LE(tok.piece_size(), 500);
  // Overwrites an existing file.
  train_t5_tokenizer(corpus(), out.string(), 500, 1);
  EXPECT_TRUE(fs::exists(out));
}

TEST_F(TokenizerTrainerTest, MissingCorpusIsNamed) {
  const std::string missing = (dir_ / "no_corpus.txt").string();
  try {
    train_t5_tokenizer(missing, (dir_ / "x.model").string(), 100, 0);
    FAIL() << "no error";
  } catch (const ptuner::Error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir_ / "x.model"));
}

TEST_F(TokenizerTrainerTest, BadVocabSizeIsNamed) {
  try {
    train_t5_tokenizer(corpus(), (dir_ / "x.model").string(), 2, 0);
    FAIL() << "no error";
  } catch (const ptuner::Error& e) {
    EXPECT_NE(std::string(e.what()).find("vocab_size must be >= 4, got 2"), std::string::npos)
        << e.what();
  }
}
