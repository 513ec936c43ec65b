// DataStats (behind `ptuner data stats`): counts, malformed reasons and nearest-rank length
// percentiles, worked out by hand.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <numeric>

#include "data/DataStats.h"
#include "dist/Check.h"
#include "tests/TestSupport.h"

using namespace ptuner::data;

TEST(DataStatsTest, NearestRankPercentiles) {
  const auto s = DataStats::summarize({4, 1, 3, 2});
  EXPECT_EQ(s.p50, 2);  // ceil(0.5 * 4) = 2nd smallest
  EXPECT_EQ(s.p90, 4);  // ceil(3.6) = 4th
  EXPECT_EQ(s.p99, 4);
  EXPECT_EQ(s.max, 4);
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  std::vector<int64_t> hundred(100);
  std::iota(hundred.begin(), hundred.end(), 1);  // 1..100
  const auto h = DataStats::summarize(hundred);
  EXPECT_EQ(h.p50, 50);
  EXPECT_EQ(h.p90, 90);
  EXPECT_EQ(h.p99, 99);
  EXPECT_EQ(h.max, 100);
  EXPECT_EQ(DataStats::summarize({}).max, 0);
}

TEST(DataStatsTest, CountsRecordsExamplesAndMalformed) {
  const std::string path = std::string(PTUNER_FIXTURES) + "/data/MultiRC/val.jsonl";
  auto r = TaskReader::open("multirc", path, OnError::Skip, false, true);
  const DataStats st = DataStats::collect(*r, nullptr);
  EXPECT_EQ(st.records, 1);
  EXPECT_EQ(st.examples, 5);
  EXPECT_EQ(st.malformed, 1);
  ASSERT_EQ(st.malformed_reasons.size(), 1u);
  EXPECT_EQ(st.malformed_reasons[0].rfind(path + ":2: ", 0), 0u);
  EXPECT_EQ(st.unit, "characters");
  // Targets: True False True True False -> lengths 4 5 4 4 5.
  EXPECT_EQ(st.targets.p50, 4);
  EXPECT_EQ(st.targets.max, 5);
  EXPECT_DOUBLE_EQ(st.targets.mean, 4.4);
  // Inputs: "question: <q> answer: <a> paragraph: " + the 78-character cleaned paragraph:
  // 148, 144, 148, 150, 146 characters -> sorted 144 146 148 148 150.
  EXPECT_EQ(st.inputs.p50, 148);
  EXPECT_EQ(st.inputs.p90, 150);
  EXPECT_EQ(st.inputs.max, 150);
  EXPECT_DOUBLE_EQ(st.inputs.mean, 147.2);
  const auto j = st.to_json();
  EXPECT_EQ(j["examples"], 5);
  EXPECT_EQ(j["task"], "multirc");
  EXPECT_NE(st.to_text().find("malformed 1\n  " + path + ":2: "), std::string::npos)
      << st.to_text();
}

TEST(DataStatsTest, LengthsInTokensWithTheEos) {
  const auto model = std::filesystem::temp_directory_path() /
                     ("ptuner_stats_" + std::to_string(::getpid()) + ".model");
  std::filesystem::copy_file(ptuner::testing::tiny_tokenizer(1234), model,
                             std::filesystem::copy_options::overwrite_existing);
  const Tokenizer tok(model.string());
  auto r = TaskReader::open("boolq", std::string(PTUNER_FIXTURES) + "/data/BoolQ/val.jsonl",
                            OnError::Fail, false, true);
  const DataStats st = DataStats::collect(*r, &tok);
  EXPECT_EQ(st.unit, "tokens");
  EXPECT_EQ(st.examples, 3);
  // Targets True, False, True: the longer of the two encodings (EOS included) is the max.
  const auto t = static_cast<int64_t>(tok.encode("True").size());
  const auto f = static_cast<int64_t>(tok.encode("False").size());
  EXPECT_EQ(st.targets.p50, t);
  EXPECT_EQ(st.targets.max, std::max(t, f));
  EXPECT_EQ(tok.encode("x").back(), 1);  // the EOS is counted
  std::filesystem::remove(model);
}
