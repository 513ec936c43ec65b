// SortedBatches: every example once, in batches of like length, window by window.
#include <gtest/gtest.h>

#include <set>

#include "data/SortedBatches.h"

namespace ptuner::data {
namespace {

TokenizedExample example(int64_t index, int64_t input_len, int64_t target_len = 2) {
  TokenizedExample t;
  t.input_ids.assign(static_cast<size_t>(input_len), 5);
  t.target_ids.assign(static_cast<size_t>(target_len), 6);
  t.index = index;
  return t;
}

TEST(SortedBatches, EachWindowRunsSortedByLengthAndEveryExampleOnce) {
  std::vector<std::vector<TokenizedExample>> runs;
  SortedBatches batches(2, 100, 10, [&](const std::vector<TokenizedExample>& b) { runs.push_back(b); });
  // Lengths 37·i mod 61 + 1 (1..61 once each, then three ties): one full window of
  // 32 batches of 2, then 5 examples more.
  for (int64_t i = 0; i < 64; ++i) {
    batches.add(example(i, (37 * i) % 61 + 1));
    EXPECT_EQ(runs.size(), i < 63 ? 0u : 32u) << "the window runs when it is full, not before";
  }
  for (int64_t i = 64; i < 69; ++i) batches.add(example(i, 70 - i));
  EXPECT_EQ(runs.size(), 32u);
  batches.flush();
  ASSERT_EQ(runs.size(), 35u);  // the last 5: two batches of 2 and one of 1
  EXPECT_EQ(runs[34].size(), 1u);
  std::set<int64_t> seen;
  for (const auto& [begin, end] : {std::pair<size_t, size_t>{0, 32}, {32, 35}}) {  // the two windows
    std::vector<TokenizedExample> window;
    for (size_t r = begin; r < end; ++r) window.insert(window.end(), runs[r].begin(), runs[r].end());
    for (size_t k = 0; k < window.size(); ++k) {
      EXPECT_TRUE(seen.insert(window[k].index).second) << "example " << window[k].index << " twice";
      if (k == 0) continue;
      // Lengths never fall within a window; ties keep file order.
      EXPECT_LE(window[k - 1].input_ids.size(), window[k].input_ids.size()) << k;
      if (window[k - 1].input_ids.size() == window[k].input_ids.size()) {
        EXPECT_LT(window[k - 1].index, window[k].index);
      }
    }
  }
  EXPECT_EQ(seen.size(), 69u);
  EXPECT_EQ(runs[32][0].index, 68);  // the second window's shortest: length 2
  EXPECT_EQ(runs[34][0].index, 64);  // … and its longest: length 6
}

TEST(SortedBatches, LengthsCountAsTheCollatorCutsThem) {
  std::vector<int64_t> order;
  SortedBatches batches(1, 8, 4, [&](const std::vector<TokenizedExample>& b) { order.push_back(b.at(0).index); });
  // Inputs of 12 and 9 tokens both become 8: a tie, then decided by the (cut) target lengths.
  batches.add(example(0, 12, 3));
  batches.add(example(1, 9, 9));   // target cut to 4
  batches.add(example(2, 20, 2));
  batches.add(example(3, 5, 2));
  batches.flush();
  EXPECT_EQ(order, (std::vector<int64_t>{3, 2, 0, 1}));
}

TEST(SortedBatches, RefusesAnEmptyBatch) {
  EXPECT_THROW(SortedBatches(0, 8, 4, [](const std::vector<TokenizedExample>&) {}), std::exception);
}

}  // namespace
}  // namespace ptuner::data
