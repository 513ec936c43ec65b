#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "data/DataLoader.h"
#include "data/TokenizerTrainer.h"
#include "dist/Check.h"
#include "tests/data/LoaderTestSupport.h"

namespace fs = std::filesystem;
using namespace ptuner::data;

namespace {

using loader_testing::expect_same_batch;

constexpr int kRecords = 103;  // 12 global batches of 8 per epoch, 7 records dropped

using loader_testing::all_indices;

}  // namespace

class DataLoaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = loader_testing::dir_with_tokenizer("loader_test", &tok_);
    // Record i: "question: what is i plus one? answer:" -> "i+1"; lengths vary with i.
    std::ofstream f(dir_ / "train.jsonl");
    for (int i = 0; i < kRecords; ++i) {
      std::string words;
      for (int k = 0; k < i % 7; ++k) words += " please";
      f << "{\"inputs\": \"question: what is " << i << " plus one" << words
        << "? answer:\", \"targets\": \"" << i + 1 << "\", \"id\": " << i << "}\n";
    }
  }
  static void TearDownTestSuite() {
    tok_.reset();
    fs::remove_all(dir_);
  }
  static LoaderOptions options(uint64_t seed = 42, int dp_rank = 0, int dp_size = 1,
                               int64_t batch_size = 8) {
    LoaderOptions o;
    o.path = (dir_ / "train.jsonl").string();
    o.batch_size = batch_size;
    o.max_input_len = 64;
    o.max_target_len = 8;
    o.seed = seed;
    o.shuffle_buffer = 32;  // smaller than the file: the streaming path is exercised
    o.dp_rank = dp_rank;
    o.dp_size = dp_size;
    return o;
  }
  static std::vector<Batch> take(DataLoader& l, int n) {
    std::vector<Batch> out;
    for (int i = 0; i < n; ++i) out.push_back(l.next());
    return out;
  }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  static inline fs::path dir_;
  static inline std::unique_ptr<Tokenizer> tok_;
};

TEST_F(DataLoaderTest, UnshuffledBatchesFollowTheFile) {
  auto o = options();
  o.shuffle = false;
  DataLoader l(o, *tok_);
  const Batch b = l.next();
  EXPECT_EQ(b.size(), 8);
  EXPECT_EQ(b.indices, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  // Row 3 is record 3, tokenized and padded.
  const auto ids = tok_->encode("question: what is 3 plus one please please please? answer:");
  const auto row = b.input_ids[3].slice(0, 0, static_cast<int64_t>(ids.size()));
  EXPECT_TRUE(torch::equal(row, torch::tensor(ids)));
  EXPECT_EQ(b.attention_mask[3].sum().item<int64_t>(), static_cast<int64_t>(ids.size()));
  const auto target = tok_->encode("4");
  EXPECT_TRUE(torch::equal(b.labels[3].slice(0, 0, static_cast<int64_t>(target.size())),
                           torch::tensor(target)));
  EXPECT_EQ(tok_->decode(std::vector<int64_t>(b.labels[3].data_ptr<int64_t>(),
                                              b.labels[3].data_ptr<int64_t>() + b.labels.size(1))),
            "4");
  EXPECT_EQ(l.position().epoch, 0);
  EXPECT_EQ(l.position().batches_in_epoch, 1);
}

TEST_F(DataLoaderTest, RanksTakeDisjointSlicesOfTheGlobalBatch) {
  DataLoader global(options(42, 0, 1, 8), *tok_);
  DataLoader rank0(options(42, 0, 2, 4), *tok_);
  DataLoader rank1(options(42, 1, 2, 4), *tok_);
  for (int step = 0; step < 15; ++step) {  // crosses into the second epoch
    const Batch g = global.next(), a = rank0.next(), b = rank1.next();
    ASSERT_EQ(a.size(), 4);
    ASSERT_EQ(b.size(), 4);
    std::vector<int64_t> joined = a.indices;
    joined.insert(joined.end(), b.indices.begin(), b.indices.end());
    EXPECT_EQ(joined, g.indices) << "step " << step;
    std::set<int64_t> sa(a.indices.begin(), a.indices.end());
    for (const int64_t i : b.indices) EXPECT_EQ(sa.count(i), 0u) << "step " << step;
  }
  EXPECT_EQ(rank0.position().epoch, rank1.position().epoch);
  EXPECT_EQ(rank0.position().batches_in_epoch, rank1.position().batches_in_epoch);
}

TEST_F(DataLoaderTest, SeedDecidesTheOrder) {
  DataLoader a(options(42), *tok_), b(options(42), *tok_), c(options(43), *tok_);
  const auto ia = all_indices(take(a, 4)), ib = all_indices(take(b, 4)),
             ic = all_indices(take(c, 4));
  EXPECT_EQ(ia, ib);
  EXPECT_NE(ia, ic);
  // Shuffled: not the file order.
  std::vector<int64_t> sorted = ia;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_NE(ia, sorted);
}

TEST_F(DataLoaderTest, EpochsWrapAroundAndReshuffle) {
  DataLoader l(options(), *tok_);
  const auto epoch0 = take(l, 12);
  EXPECT_EQ(l.position().epoch, 0);
  EXPECT_EQ(l.position().batches_in_epoch, 12);
  const auto i0 = all_indices(epoch0);
  EXPECT_EQ(std::set<int64_t>(i0.begin(), i0.end()).size(), 96u);  // no repeats in an epoch
  for (const int64_t i : i0) {
    EXPECT_GE(i, 0);
    EXPECT_LT(i, kRecords);
  }
  const auto epoch1 = take(l, 12);  // the 7 records left over in epoch 0 are dropped
  EXPECT_EQ(l.position().epoch, 1);
  EXPECT_EQ(l.position().batches_in_epoch, 12);
  const auto i1 = all_indices(epoch1);
  EXPECT_EQ(std::set<int64_t>(i1.begin(), i1.end()).size(), 96u);
  EXPECT_NE(i0, i1);
  l.next();
  EXPECT_EQ(l.position().epoch, 2);
  EXPECT_EQ(l.position().batches_in_epoch, 1);
}

TEST_F(DataLoaderTest, SeekResumesExactly) {
  for (const int k : {0, 3, 10, 12, 13}) {  // 10 and 12: the next 5 cross into epoch 1
    DataLoader straight(options(7, 1, 2, 4), *tok_);
    take(straight, k);
    const LoaderPosition pos = straight.position();
    const auto expected = take(straight, 5);
    DataLoader resumed(options(7, 1, 2, 4), *tok_);
    resumed.next();  // wherever it was before
    resumed.seek(pos);
    EXPECT_EQ(resumed.position().epoch, pos.epoch);
    EXPECT_EQ(resumed.position().batches_in_epoch, pos.batches_in_epoch);
    const auto got = take(resumed, 5);
    for (int i = 0; i < 5; ++i) {
      SCOPED_TRACE("k " + std::to_string(k) + " batch " + std::to_string(i));
      expect_same_batch(got[i], expected[i]);
    }
  }
}

TEST_F(DataLoaderTest, SeekPastTheEpochFails) {
  DataLoader l(options(), *tok_);
  EXPECT_THROW(l.seek({0, 13}), ptuner::Error);
  EXPECT_THROW(l.seek({-1, 0}), ptuner::Error);
  l.seek({3, 12});  // the end of epoch 3: next() goes on into epoch 4
  l.next();
  EXPECT_EQ(l.position().epoch, 4);
  EXPECT_EQ(l.position().batches_in_epoch, 1);
}

TEST_F(DataLoaderTest, EmptyOrShortFilesFailClearly) {
  const std::string empty = write("empty.jsonl", "\n\n  \n");
  try {
    DataLoader l(
        [&] {
          auto o = options();
          o.path = empty;
          return o;
        }(),
        *tok_);
    FAIL() << "no error";
  } catch (const ptuner::Error& e) {
    EXPECT_NE(std::string(e.what()).find("data file '" + empty + "' holds no examples"),
              std::string::npos)
        << e.what();
  }
  const std::string bad = write("bad.jsonl", "{\"inputs\": \"a\"}\nnot json\n");
  auto o = options();
  o.path = bad;
  o.on_error = OnError::Skip;
  try {
    DataLoader l(o, *tok_);
    FAIL() << "no error";
  } catch (const ptuner::Error& e) {
    EXPECT_NE(std::string(e.what()).find("holds no examples (2 malformed records skipped)"),
              std::string::npos)
        << e.what();
  }
  std::string three;
  for (int i = 0; i < 3; ++i) three += "{\"inputs\": \"a\", \"targets\": \"b\"}\n";
  o.path = write("three.jsonl", three);
  try {
    DataLoader l(o, *tok_);
    FAIL() << "no error";
  } catch (const ptuner::Error& e) {
    EXPECT_NE(std::string(e.what()).find("holds 3 examples, fewer than one global batch of 8"),
              std::string::npos)
        << e.what();
  }
  o.path = (dir_ / "missing.jsonl").string();
  EXPECT_THROW(DataLoader(o, *tok_), ptuner::Error);
}

TEST_F(DataLoaderTest, SkipsMalformedRecordsWhenAsked) {
  std::string text;
  for (int i = 0; i < 10; ++i) {
    if (i == 4) text += "{\"inputs\": \"broken\"\n";
    text += "{\"inputs\": \"in " + std::to_string(i) + "\", \"targets\": \"out\"}\n";
  }
  auto o = options();
  o.path = write("some_bad.jsonl", text);
  o.batch_size = 5;
  o.shuffle = false;
  o.on_error = OnError::Skip;
  DataLoader l(o, *tok_);
  const auto batches = take(l, 3);  // epoch 0: 2 batches, then epoch 1
  EXPECT_EQ(all_indices(batches),
            (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4}));
  EXPECT_EQ(l.skipped(), 1);
  o.on_error = OnError::Fail;
  EXPECT_THROW(
      {
        DataLoader strict(o, *tok_);
        take(strict, 2);
      },
      ptuner::Error);
}

TEST_F(DataLoaderTest, RejectsBadOptions) {
  auto o = options();
  o.batch_size = 0;
  EXPECT_THROW(DataLoader(o, *tok_), ptuner::Error);
  o = options();
  o.dp_rank = 2;
  o.dp_size = 2;
  EXPECT_THROW(DataLoader(o, *tok_), ptuner::Error);
  o = options();
  o.shuffle_buffer = 0;
  EXPECT_THROW(DataLoader(o, *tok_), ptuner::Error);
  o = options();
  o.max_target_len = 0;
  EXPECT_THROW(DataLoader(o, *tok_), ptuner::Error);
}
