// Length bucketing in the DataLoader: padding efficiency on a BoolQ-like length distribution,
// exact resumption, and the same examples per optimizer step whatever the DP layout.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "data/DataLoader.h"
#include "data/TokenizerTrainer.h"
#include "dist/Check.h"
#include "tests/data/LoaderTestSupport.h"

namespace fs = std::filesystem;
using namespace ptuner::data;

namespace {

constexpr int kRecords = 2000;

std::vector<int64_t> sorted_indices(const std::vector<Batch>& batches) {
  auto out = loader_testing::all_indices(batches);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

class DataLoaderBucketingTest : public ::testing::Test {
 protected:
  // SuperGLUE BoolQ rows whose passage lengths follow BoolQ's skew: log-normal words
  // (median ~90 words, sigma 0.5: a long right tail), cut to [20, 400]; questions of 6-12 words.
  static void SetUpTestSuite() {
    dir_ = loader_testing::dir_with_tokenizer("bucketing_test", &tok_);
    const std::vector<std::string> words = {"the", "river", "film",  "was",   "a",     "great",
                                            "city", "in",   "north", "of",    "season", "game",
                                            "team", "won",  "first", "state", "is",    "named"};
    std::mt19937_64 rng(7);
    std::lognormal_distribution<double> passage_words(std::log(90.0), 0.5);
    std::ofstream f(dir_ / "train.jsonl");
    for (int i = 0; i < kRecords; ++i) {
      const int n = std::clamp(static_cast<int>(passage_words(rng)), 20, 400);
      const int q = 6 + static_cast<int>(rng() % 7);
      std::string passage, question;
      for (int k = 0; k < n; ++k) passage += (k ? " " : "") + words[rng() % words.size()];
      for (int k = 0; k < q; ++k) question += (k ? " " : "") + words[rng() % words.size()];
      f << "{\"question\": \"" << question << "\", \"passage\": \"" << passage
        << "\", \"idx\": " << i << ", \"label\": " << ((rng() % 2) ? "true" : "false") << "}\n";
    }
  }
  static void TearDownTestSuite() {
    tok_.reset();
    fs::remove_all(dir_);
  }
  static LoaderOptions options(bool bucket, int64_t batch = 32, int dp_rank = 0, int dp_size = 1,
                               int64_t batches_per_step = 1) {
    LoaderOptions o;
    o.path = (dir_ / "train.jsonl").string();
    o.task = "boolq";
    o.batch_size = batch;
    o.max_input_len = 1024;
    o.max_target_len = 8;
    o.seed = 11;
    o.shuffle_buffer = 1000;
    o.bucket_by_length = bucket;
    o.batches_per_step = batches_per_step;
    o.dp_rank = dp_rank;
    o.dp_size = dp_size;
    return o;
  }
  static std::vector<Batch> take(DataLoader& l, int n) {
    std::vector<Batch> out;
    for (int i = 0; i < n; ++i) out.push_back(l.next());
    return out;
  }
  static inline fs::path dir_;
  static inline std::unique_ptr<Tokenizer> tok_;
};

TEST_F(DataLoaderBucketingTest, PaddingEfficiencyOnBoolQLikeLengths) {
  DataLoader plain(options(false), *tok_), bucketed(options(true), *tok_);
  const int per_epoch = kRecords / 32;  // 62 batches
  const auto a = take(plain, per_epoch), b = take(bucketed, per_epoch);
  const double plain_eff = plain.padding().input_efficiency();
  const double bucket_eff = bucketed.padding().input_efficiency();
  std::cout << "input padding efficiency over one epoch: unbucketed " << plain_eff
            << ", bucketed " << bucket_eff << " (targets " << plain.padding().target_efficiency()
            << " / " << bucketed.padding().target_efficiency() << ")\n";
  EXPECT_GE(bucket_eff, 0.9);
  EXPECT_LT(plain_eff, 0.7);
  // The same examples in the epoch (the dropped remainder aside), in another grouping.
  EXPECT_EQ(bucketed.position().epoch, 0);
  const auto ia = sorted_indices(a), ib = sorted_indices(b);
  EXPECT_EQ(ib.size(), static_cast<size_t>(per_epoch * 32));
  EXPECT_EQ(std::adjacent_find(ib.begin(), ib.end()), ib.end());  // no repeats
  // Real tokens count the same in both loaders' batches when they hold the same examples.
  int64_t real = 0;
  for (const auto& batch : b) real += batch.num_input_tokens;
  EXPECT_EQ(real, bucketed.padding().input_tokens);
}

TEST_F(DataLoaderBucketingTest, ResumedLoaderGivesTheSameBatches) {
  // 2000 examples, global batch 16 (8 x dp 2), step 32 (2 per step): windows of 1024 (64
  // batches), 125 batches per epoch. k = 0, inside the first window, at the window edge, inside
  // the last window, and at the end of the epoch (the next batches come from epoch 1).
  for (const int k : {0, 5, 64, 77, 122, 125}) {
    DataLoader straight(options(true, 8, 1, 2, 2), *tok_);
    take(straight, k);
    const LoaderPosition pos = straight.position();
    const auto expected = take(straight, 6);
    DataLoader resumed(options(true, 8, 1, 2, 2), *tok_);
    resumed.next();
    resumed.seek(pos);
    EXPECT_EQ(resumed.position().batches_in_epoch, pos.batches_in_epoch);
    const auto got = take(resumed, 6);
    for (size_t i = 0; i < got.size(); ++i) {
      SCOPED_TRACE("k " + std::to_string(k) + " batch " + std::to_string(i));
      EXPECT_EQ(got[i].indices, expected[i].indices);
      EXPECT_TRUE(torch::equal(got[i].input_ids, expected[i].input_ids));
      EXPECT_TRUE(torch::equal(got[i].labels, expected[i].labels));
    }
  }
  DataLoader l(options(true, 8, 0, 2, 2), *tok_);
  EXPECT_THROW(l.seek({0, 126}), ptuner::Error);
}

TEST_F(DataLoaderBucketingTest, StepsHoldTheSameExamplesWhateverTheDpLayout) {
  // One optimizer step of 16 examples: dp 1 with 2 accumulated micro-batches of 8, or dp 2 with
  // one micro-batch of 8 each.
  DataLoader single(options(true, 8, 0, 1, 2), *tok_);
  DataLoader rank0(options(true, 8, 0, 2, 1), *tok_), rank1(options(true, 8, 1, 2, 1), *tok_);
  for (int step = 0; step < 40; ++step) {
    const auto one = take(single, 2);
    const std::vector<Batch> two = {rank0.next(), rank1.next()};
    EXPECT_EQ(one[0].indices, two[0].indices) << "step " << step;
    EXPECT_EQ(one[1].indices, two[1].indices) << "step " << step;
  }
}

TEST_F(DataLoaderBucketingTest, WithoutShufflingWindowsAreSortedInOrder) {
  auto o = options(true, 4);
  o.shuffle = false;
  o.shuffle_buffer = 16;
  DataLoader l(o, *tok_);
  // The first window is records 0-15 sorted by length: its batches grow.
  const auto b = take(l, 4);
  for (int i = 0; i + 1 < 4; ++i) EXPECT_LE(b[i].input_ids.size(1), b[i + 1].input_ids.size(1));
  EXPECT_EQ(sorted_indices(b), [] {
    std::vector<int64_t> v(16);
    for (int i = 0; i < 16; ++i) v[i] = i;
    return v;
  }());
}
