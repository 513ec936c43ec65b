// The prefetching DataLoader (a producer thread and a bounded queue) against the synchronous
// one: the same batches bit for bit, the same positions and resumption, the same errors, and a
// destructor that never hangs.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "data/DataLoader.h"
#include "data/TokenizerTrainer.h"
#include "dist/Check.h"
#include "tests/data/LoaderTestSupport.h"

namespace fs = std::filesystem;
using namespace ptuner::data;

namespace {

using loader_testing::expect_same_batch;

constexpr int kRecords = 301;  // dp 2 x batch 4: 37 global batches per epoch, 5 dropped

// The message of the error next() throws after `good` batches, or "" when none.
std::string error_after(DataLoader& l, int max_batches, int& good) {
  good = 0;
  try {
    for (; good < max_batches; ++good) l.next();
  } catch (const ptuner::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

class DataLoaderPrefetchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = loader_testing::dir_with_tokenizer("prefetch_test", &tok_);
    // Inputs of 1 to 40 words: bucketing has lengths to sort.
    std::ofstream f(dir_ / "train.jsonl");
    for (int i = 0; i < kRecords; ++i) f << record(i);
    std::ofstream bad(dir_ / "bad.jsonl");
    for (int i = 0; i < kRecords; ++i) bad << (i == 150 ? std::string("{\"inputs\": \"cut\n") : record(i));
  }
  static std::string record(int i) {
    std::string words;
    for (int k = 0; k < 1 + (i * 7) % 40; ++k) words += " the film was great";
    return "{\"inputs\": \"review " + std::to_string(i) + ":" + words + "\", \"targets\": \"" +
           std::to_string(i % 3) + "\"}\n";
  }
  static void TearDownTestSuite() {
    tok_.reset();
    fs::remove_all(dir_);
  }
  static LoaderOptions options(int64_t prefetch, bool bucket, int dp_rank = 0, int dp_size = 2) {
    LoaderOptions o;
    o.path = (dir_ / "train.jsonl").string();
    o.batch_size = 4;
    o.max_input_len = 96;
    o.max_target_len = 4;
    o.seed = 5;
    o.shuffle_buffer = 64;
    o.bucket_by_length = bucket;
    o.batches_per_step = 2;
    o.dp_rank = dp_rank;
    o.dp_size = dp_size;
    o.prefetch = prefetch;
    return o;
  }
  static inline fs::path dir_;
  static inline std::unique_ptr<Tokenizer> tok_;
};

TEST_F(DataLoaderPrefetchTest, SameBatchesAsTheSynchronousLoaderOverEpochs) {
  const int batches = 3 * (kRecords / 8) + 5;  // into the fourth epoch
  for (const bool bucket : {false, true}) {
    for (const int rank : {0, 1}) {
      DataLoader sync(options(0, bucket, rank), *tok_);
      std::vector<Batch> expected;
      std::vector<LoaderPosition> positions;
      for (int i = 0; i < batches; ++i) {
        expected.push_back(sync.next());
        positions.push_back(sync.position());
      }
      for (const int64_t prefetch : {1, 4}) {
        for (const int threads : {1, 3}) {
          auto o = options(prefetch, bucket, rank);
          o.tokenizer_threads = threads;
          DataLoader l(o, *tok_);
          for (int i = 0; i < batches; ++i) {
            SCOPED_TRACE("bucket " + std::to_string(bucket) + " rank " + std::to_string(rank) +
                         " prefetch " + std::to_string(prefetch) + " threads " +
                         std::to_string(threads) + " batch " + std::to_string(i));
            expect_same_batch(l.next(), expected[static_cast<size_t>(i)]);
            // The position of the batches taken, not of those made ahead.
            EXPECT_EQ(l.position(), positions[static_cast<size_t>(i)]);
          }
          EXPECT_EQ(l.position().epoch, 3);
          EXPECT_EQ(l.padding().input_tokens, sync.padding().input_tokens);
          EXPECT_EQ(l.padding().input_slots, sync.padding().input_slots);
        }
      }
    }
  }
}

TEST_F(DataLoaderPrefetchTest, SeekResumesExactlyWhilePrefetching) {
  for (const bool bucket : {false, true}) {
    for (const int k : {0, 3, 36, 37, 40}) {  // 37 batches per epoch
      SCOPED_TRACE("bucket " + std::to_string(bucket) + " k " + std::to_string(k));
      DataLoader straight(options(0, bucket, 1), *tok_);
      for (int i = 0; i < k; ++i) straight.next();
      const LoaderPosition pos = straight.position();
      std::vector<Batch> expected;
      for (int i = 0; i < 6; ++i) expected.push_back(straight.next());
      DataLoader resumed(options(3, bucket, 1), *tok_);
      for (int i = 0; i < 5; ++i) resumed.next();  // the producer is ahead of this
      resumed.seek(pos);
      EXPECT_EQ(resumed.position(), pos);
      EXPECT_EQ(resumed.prefetched(), 0);
      for (int i = 0; i < 6; ++i) expect_same_batch(resumed.next(), expected[static_cast<size_t>(i)]);
    }
  }
  DataLoader l(options(2, true), *tok_);
  l.next();
  EXPECT_THROW(l.seek({0, 38}), ptuner::Error);
}

TEST_F(DataLoaderPrefetchTest, ProducerErrorsSurfaceFromNextWithTheSameMessage) {
  for (const bool bucket : {false, true}) {
    SCOPED_TRACE("bucket " + std::to_string(bucket));
    auto o = options(0, bucket, 0, 1);
    o.path = (dir_ / "bad.jsonl").string();
    o.shuffle = false;
    o.shuffle_buffer = 32;  // the error is in the fifth bucketing window
    DataLoader sync(o, *tok_);
    int sync_good = 0;
    const std::string sync_error = error_after(sync, 100, sync_good);
    ASSERT_NE(sync_error, "");
    EXPECT_NE(sync_error.find("bad.jsonl:151"), std::string::npos) << sync_error;
    o.prefetch = 3;
    DataLoader threaded(o, *tok_);
    int good = 0;
    EXPECT_EQ(error_after(threaded, 100, good), sync_error);
    EXPECT_EQ(good, sync_good);
    // It stays: the next call throws the same.
    int again = 0;
    EXPECT_EQ(error_after(threaded, 1, again), sync_error);
    EXPECT_EQ(again, 0);
    // seek() clears it.
    threaded.seek({0, 1});
    EXPECT_NO_THROW(threaded.next());
  }
}

TEST_F(DataLoaderPrefetchTest, SkippedCountsFollowTheBatchesTaken) {
  auto o = options(0, false, 0, 1);
  o.path = (dir_ / "bad.jsonl").string();
  o.shuffle = false;
  o.on_error = OnError::Skip;
  DataLoader sync(o, *tok_);
  o.prefetch = 4;
  DataLoader threaded(o, *tok_);
  for (int i = 0; i < 80; ++i) {  // over an epoch of 75 batches
    sync.next();
    threaded.next();
    EXPECT_EQ(threaded.skipped(), sync.skipped()) << "batch " << i;
  }
  EXPECT_EQ(threaded.skipped(), 1);
}

TEST_F(DataLoaderPrefetchTest, ReadingAheadWhileTheQueueIsFullChangesNothing) {
  // A slow consumer keeps the queue full, so the producer reads and tokenizes the next
  // bucketing window ahead (work_ahead): batches, positions, skipped counts and the error must
  // still be the synchronous loader's.
  auto slow = [](DataLoader& l) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return l.next();
  };
  auto o = options(0, true, 0, 1);
  o.path = (dir_ / "bad.jsonl").string();
  o.shuffle_buffer = 32;
  o.on_error = OnError::Skip;
  DataLoader sync(o, *tok_);
  o.prefetch = 1;
  DataLoader ahead(o, *tok_);
  for (int i = 0; i < 90; ++i) {  // 75 batches per epoch: into epoch 1
    const Batch a = sync.next(), b = slow(ahead);
    SCOPED_TRACE("batch " + std::to_string(i));
    expect_same_batch(b, a);
    EXPECT_EQ(ahead.position(), sync.position());
    EXPECT_EQ(ahead.skipped(), sync.skipped());
  }
  o.on_error = OnError::Fail;
  o.prefetch = 0;
  DataLoader strict(o, *tok_);
  int sync_good = 0;
  const std::string sync_error = error_after(strict, 100, sync_good);
  ASSERT_NE(sync_error, "");
  o.prefetch = 1;
  DataLoader strict_ahead(o, *tok_);
  int good = 0;
  std::string error;
  try {
    for (; good < 100; ++good) slow(strict_ahead);
  } catch (const ptuner::Error& e) {
    error = e.what();
  }
  EXPECT_EQ(error, sync_error);
  EXPECT_EQ(good, sync_good);
}

TEST_F(DataLoaderPrefetchTest, DestructionWhileTheQueueIsFullDoesNotHang) {
  auto finishes = [](std::function<void()> f) {
    auto done = std::async(std::launch::async, std::move(f));
    return done.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  };
  for (const bool bucket : {false, true}) {
    EXPECT_TRUE(finishes([&] {
      DataLoader l(options(2, bucket), *tok_);
      l.next();
      // Wait for the producer to fill the queue and block on it.
      for (int i = 0; i < 2000 && l.prefetched() < 2; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      EXPECT_EQ(l.prefetched(), 2);
    })) << "bucket " << bucket;
    // Never started, and stopped right after starting.
    EXPECT_TRUE(finishes([&] { DataLoader l(options(2, bucket), *tok_); }));
    EXPECT_TRUE(finishes([&] {
      DataLoader l(options(8, bucket), *tok_);
      l.next();
    }));
  }
}

TEST_F(DataLoaderPrefetchTest, RejectsBadOptions) {
  auto o = options(-1, false);
  EXPECT_THROW(DataLoader(o, *tok_), ptuner::Error);
  o = options(2, false);
  o.tokenizer_threads = 0;
  EXPECT_THROW(DataLoader(o, *tok_), ptuner::Error);
}
