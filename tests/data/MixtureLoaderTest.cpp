// Multi-task mixtures (SPoT source training): T5's mixing rates by hand, the realised mix of a
// long stream against them, each source's own epochs, exact resumption, and clear errors.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "data/DataLoader.h"
#include "data/MixingRates.h"
#include "data/TokenizerTrainer.h"
#include "dist/Check.h"
#include "tests/data/LoaderTestSupport.h"

namespace fs = std::filesystem;
using namespace ptuner::data;

namespace {

using loader_testing::expect_same_batch;

// Sources of 50, 200 and 1000 examples.
const std::vector<int> kSizes = {50, 200, 1000};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ptuner::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

class MixtureLoaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = loader_testing::dir_with_tokenizer("mixture_test", &tok_);
    // Source s, record i: "task s item i" plus 0-19 words, so bucketing has lengths to sort.
    for (size_t s = 0; s < kSizes.size(); ++s) {
      std::ofstream f(path(s));
      for (int i = 0; i < kSizes[s]; ++i) {
        std::string words;
        for (int k = 0; k < (i * 13 + static_cast<int>(s)) % 20; ++k) words += " film";
        f << "{\"inputs\": \"task " << s << " item " << i << words << "\", \"targets\": \"" << s
          << "\"}\n";
      }
    }
    // A BoolQ file of 2 rows: a second task format in one mixture.
    std::ofstream(dir_ / "boolq.jsonl")
        << "{\"question\": \"is it\", \"passage\": \"it is\", \"idx\": 0, \"label\": true}\n"
        << "{\"question\": \"is it not\", \"passage\": \"it is\", \"idx\": 1, \"label\": false}\n";
  }
  static void TearDownTestSuite() {
    tok_.reset();
    fs::remove_all(dir_);
  }
  static std::string path(size_t s) { return (dir_ / ("source" + std::to_string(s) + ".jsonl")).string(); }
  static LoaderOptions options(bool bucket, int64_t prefetch = 0, int dp_rank = 0, int dp_size = 1) {
    LoaderOptions o;
    for (size_t s = 0; s < kSizes.size(); ++s) o.mixture.push_back({"jsonl", path(s), 0});
    o.batch_size = 8;
    o.max_input_len = 64;
    o.max_target_len = 4;
    o.seed = 3;
    o.shuffle_buffer = 40;
    o.bucket_by_length = bucket;
    o.batches_per_step = 2;
    o.dp_rank = dp_rank;
    o.dp_size = dp_size;
    o.prefetch = prefetch;
    o.mixing_cap = 400;
    return o;
  }
  static inline fs::path dir_;
  static inline std::unique_ptr<Tokenizer> tok_;
};

TEST(MixingRates, CapAndTemperatureAgainstHandComputedRates) {
  const std::vector<int64_t> n = {100, 1000, 10000};
  // Proportional, K = 2000: 100, 1000, 2000 of 3100.
  auto r = MixingRates::compute(n, {}, "proportional", 2000, 1.0);
  EXPECT_NEAR(r[0], 100.0 / 3100, 1e-12);
  EXPECT_NEAR(r[1], 1000.0 / 3100, 1e-12);
  EXPECT_NEAR(r[2], 2000.0 / 3100, 1e-12);
  // No cap reached: n_i / sum n.
  r = MixingRates::compute(n, {}, "proportional", int64_t{1} << 19, 1.0);
  EXPECT_NEAR(r[2], 10000.0 / 11100, 1e-12);
  // Temperature 2, K = 2000: sqrt(100) = 10, sqrt(1000) = 31.6227766, sqrt(2000) = 44.7213595,
  // sum 86.3441362.
  r = MixingRates::compute(n, {}, "temperature", 2000, 2.0);
  EXPECT_NEAR(r[0], 0.1158157, 1e-6);
  EXPECT_NEAR(r[1], 0.3662407, 1e-6);
  EXPECT_NEAR(r[2], 0.5179436, 1e-6);
  // Temperature 1 is proportional; a huge temperature tends to equal mixing.
  EXPECT_EQ(MixingRates::compute(n, {}, "temperature", 2000, 1.0),
            MixingRates::compute(n, {}, "proportional", 2000, 1.0));
  r = MixingRates::compute(n, {}, "temperature", 2000, 1e9);
  for (const double x : r) EXPECT_NEAR(x, 1.0 / 3, 1e-6);
  // Explicit weights replace the rule.
  r = MixingRates::compute(n, {1, 1, 2}, "proportional", 2000, 1.0);
  EXPECT_EQ(r, (std::vector<double>{0.25, 0.25, 0.5}));
}

TEST(MixingRates, BadRulesNameTheValue) {
  const std::vector<int64_t> n = {10, 20};
  auto error = [&](const std::vector<double>& w, const std::string& mixing, int64_t cap, double t) {
    return error_of([&] { MixingRates::compute(n, w, mixing, cap, t); });
  };
  EXPECT_NE(error({}, "uniform", 10, 1).find("unknown mixing 'uniform'"), std::string::npos);
  EXPECT_NE(error({}, "proportional", 0, 1).find("cap K must be >= 1, got 0"), std::string::npos);
  EXPECT_NE(error({}, "temperature", 10, 0).find("temperature must be > 0, got 0"), std::string::npos);
  EXPECT_NE(error({}, "proportional", 10, 2).find("temperature 2 applies to \"temperature\" mixing only"),
            std::string::npos);
  EXPECT_NE(error({1}, "proportional", 10, 1).find("1 explicit rates for 2 sources"), std::string::npos);
  EXPECT_NE(error({1, -1}, "proportional", 10, 1).find("rate of source 1 must be > 0, got -1"),
            std::string::npos);
}

TEST_F(MixtureLoaderTest, RealisedMixMatchesTheRates) {
  // 20,000 examples per run. The count of source i is binomial: its share's standard deviation
  // is at most sqrt(0.25 / 20000) = 0.0035, so a tolerance of 0.015 (over 4 sigma) does not
  // fail by chance.
  constexpr int kBatches = 2500;
  constexpr double kTolerance = 0.015;
  for (const std::string mixing : {"proportional", "temperature"}) {
    for (const bool bucket : {false, true}) {
      SCOPED_TRACE(mixing + (bucket ? " bucketed" : " plain"));
      auto o = options(bucket, 2);
      o.mixing = mixing;
      o.mixing_temperature = mixing == "temperature" ? 3.0 : 1.0;
      DataLoader l(o, *tok_);
      EXPECT_EQ(l.mixture_counts(), (std::vector<int64_t>{50, 200, 1000}));
      // K = 400: the third source counts 400.
      std::vector<double> expected = {50, 200, 400};
      double sum = 0;
      for (double& x : expected) sum += (x = std::pow(x, 1.0 / o.mixing_temperature));
      for (double& x : expected) x /= sum;
      for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(l.mixture_rates()[i], expected[i], 1e-12);
      std::vector<int64_t> seen(3, 0);
      for (int b = 0; b < kBatches; ++b)
        for (const int64_t s : l.next().sources) ++seen[static_cast<size_t>(s)];
      std::cout << mixing << (bucket ? ", bucketed" : "") << ": realised (expected) shares";
      for (size_t i = 0; i < 3; ++i) {
        const double share = static_cast<double>(seen[i]) / (kBatches * 8.0);
        std::cout << " " << share << " (" << expected[i] << ")";
        EXPECT_NEAR(share, expected[i], kTolerance) << "source " << i;
      }
      std::cout << "\n";
    }
  }
}

TEST_F(MixtureLoaderTest, EachSourceRunsItsOwnEpochs) {
  // Source 0 (50 examples) is used up many times over: each run of 50 of its examples, in
  // stream order, is one of its epochs, a permutation of 0..49, reshuffled every epoch.
  DataLoader l(options(false), *tok_);
  std::vector<int64_t> from0;
  while (from0.size() < 200) {
    const Batch b = l.next();
    for (size_t k = 0; k < b.indices.size(); ++k)
      if (b.sources[k] == 0) from0.push_back(b.indices[k]);
  }
  std::vector<std::vector<int64_t>> epochs;
  for (size_t e = 0; e < 4; ++e) {
    std::vector<int64_t> one(from0.begin() + static_cast<int64_t>(e * 50),
                             from0.begin() + static_cast<int64_t>((e + 1) * 50));
    epochs.push_back(one);
    std::sort(one.begin(), one.end());
    for (int64_t i = 0; i < 50; ++i) EXPECT_EQ(one[static_cast<size_t>(i)], i) << "epoch " << e;
  }
  EXPECT_NE(epochs[0], epochs[1]);
  EXPECT_EQ(l.position().epoch, 0);  // the mixture itself has no epochs
  EXPECT_GE(l.position().sources[0].epoch, 3);
}

TEST_F(MixtureLoaderTest, ResumedLoaderGivesTheSameBatches) {
  // Global batch 16 (8 x dp 2), step 32: windows of 64 examples (4 global batches). k: the
  // start, inside a window, at a window edge, later on.
  for (const bool bucket : {false, true}) {
    for (const int k : {0, 1, 4, 7, 150}) {
      SCOPED_TRACE(std::string(bucket ? "bucketed" : "plain") + " k " + std::to_string(k));
      DataLoader straight(options(bucket, 0, 1, 2), *tok_);
      for (int i = 0; i < k; ++i) straight.next();
      const LoaderPosition pos = straight.position();
      EXPECT_EQ(pos.sources.size(), 3u);
      EXPECT_EQ(pos.batches_in_epoch, k);
      std::vector<Batch> expected;
      for (int i = 0; i < 6; ++i) expected.push_back(straight.next());
      for (const int64_t prefetch : {0, 3}) {
        DataLoader resumed(options(bucket, prefetch, 1, 2), *tok_);
        for (int i = 0; i < 3; ++i) resumed.next();
        resumed.seek(pos);
        EXPECT_EQ(resumed.position(), pos);
        for (int i = 0; i < 6; ++i) expect_same_batch(resumed.next(), expected[static_cast<size_t>(i)]);
      }
    }
  }
}

TEST_F(MixtureLoaderTest, ReadingAheadWhileTheQueueIsFullChangesNothing) {
  // A slow consumer keeps the queue full, so the producer draws and tokenizes the next window
  // ahead; batches and positions (which must not count what was drawn ahead) stay the same, and
  // resuming from such a position gives the same batches.
  DataLoader sync(options(true, 0, 1, 2), *tok_), ahead(options(true, 1, 1, 2), *tok_);
  std::vector<Batch> expected;
  for (int i = 0; i < 40; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const Batch a = sync.next(), b = ahead.next();
    expect_same_batch(b, a);
    EXPECT_EQ(ahead.position(), sync.position()) << "batch " << i;
  }
  DataLoader resumed(options(true, 1, 1, 2), *tok_);
  resumed.seek(ahead.position());
  for (int i = 0; i < 6; ++i) expect_same_batch(resumed.next(), sync.next());
}

TEST_F(MixtureLoaderTest, RanksSliceTheSameGlobalBatches) {
  for (const bool bucket : {false, true}) {
    auto o = options(bucket);
    o.batch_size = 16;  // the global batch of dp 2 x 8; the same step of 32 examples
    DataLoader global(o, *tok_);
    DataLoader rank0(options(bucket, 0, 0, 2), *tok_), rank1(options(bucket, 2, 1, 2), *tok_);
    for (int step = 0; step < 30; ++step) {
      const Batch g = global.next(), a = rank0.next(), b = rank1.next();
      std::vector<int64_t> idx = a.indices, src = a.sources;
      idx.insert(idx.end(), b.indices.begin(), b.indices.end());
      src.insert(src.end(), b.sources.begin(), b.sources.end());
      EXPECT_EQ(idx, g.indices) << "step " << step;
      EXPECT_EQ(src, g.sources) << "step " << step;
    }
  }
}

TEST_F(MixtureLoaderTest, SeedDecidesTheMixAndPositionsMustFit) {
  auto o = options(true);
  DataLoader a(o, *tok_), b(o, *tok_);
  o.seed = 4;
  DataLoader c(o, *tok_);
  const Batch ba = a.next(), bb = b.next(), bc = c.next();
  EXPECT_EQ(ba.indices, bb.indices);
  EXPECT_EQ(ba.sources, bb.sources);
  EXPECT_TRUE(ba.indices != bc.indices || ba.sources != bc.sources);
  // A one-task position, a position of two sources, draws that do not fit the batches.
  EXPECT_NE(error_of([&] { a.seek({0, 3}); }).find("holds 0 mixture sources, but this loader mixes 3"),
            std::string::npos);
  LoaderPosition p = a.position();
  p.sources.pop_back();
  EXPECT_NE(error_of([&] { a.seek(p); }).find("holds 2 mixture sources"), std::string::npos);
  p = a.position();
  p.mixture_draws += 1;
  EXPECT_NE(error_of([&] { a.seek(p); }).find("inconsistent mixture position"), std::string::npos);
  // And a one-task loader refuses a mixture position.
  LoaderOptions one = options(false);
  one.mixture.clear();
  one.path = path(2);
  one.task = "jsonl";
  DataLoader single(one, *tok_);
  EXPECT_NE(error_of([&] { single.seek(a.position()); }).find("holds 3 mixture sources"),
            std::string::npos);
}

TEST_F(MixtureLoaderTest, TasksOfAnyFormatMix) {
  auto o = options(false);
  o.mixture.push_back({"boolq", (dir_ / "boolq.jsonl").string(), 0});
  o.mixing_cap = 2;  // every source counts 2: equal rates
  DataLoader l(o, *tok_);
  for (const double r : l.mixture_rates()) EXPECT_DOUBLE_EQ(r, 0.25);
  std::set<int64_t> seen;
  for (int i = 0; i < 20; ++i)
    for (const int64_t s : l.next().sources) seen.insert(s);
  EXPECT_EQ(seen.size(), 4u);
}

TEST_F(MixtureLoaderTest, BadSourcesAreNamed) {
  auto o = options(false);
  o.mixture.push_back({"jsonl", (dir_ / "missing.jsonl").string(), 0});
  std::string e = error_of([&] { DataLoader l(o, *tok_); });
  EXPECT_NE(e.find("mixture source 3 (jsonl '"), std::string::npos) << e;
  EXPECT_NE(e.find("missing.jsonl' does not exist"), std::string::npos) << e;
  o = options(false);
  o.mixture[1].task = "nosuchtask";
  e = error_of([&] { DataLoader l(o, *tok_); });
  EXPECT_NE(e.find("unknown task 'nosuchtask'"), std::string::npos) << e;
  o = options(false);
  const std::string empty = (dir_ / "empty.jsonl").string();
  std::ofstream(empty) << "\n";
  o.mixture[0].path = empty;
  e = error_of([&] { DataLoader l(o, *tok_); });
  EXPECT_NE(e.find("mixture source 0 (jsonl '" + empty + "'): "), std::string::npos) << e;
  EXPECT_NE(e.find("holds no examples"), std::string::npos) << e;
  o = options(false);
  o.mixture[0].rate = 2;  // some rates only
  e = error_of([&] { DataLoader l(o, *tok_); });
  EXPECT_NE(e.find("1 explicit rates for 3 sources"), std::string::npos) << e;
}
