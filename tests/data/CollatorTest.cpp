#include <gtest/gtest.h>
#include <torch/torch.h>

#include "data/Collator.h"
#include "dist/Check.h"

using ptuner::data::Batch;
using ptuner::data::Collator;
using ptuner::data::TokenizedExample;

namespace {

torch::Tensor t2d(std::vector<std::vector<int64_t>> rows) {
  const int64_t b = static_cast<int64_t>(rows.size()), n = static_cast<int64_t>(rows[0].size());
  auto t = torch::empty({b, n}, torch::kLong);
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < n; ++j) t[i][j] = rows[i][j];
  return t;
}

void expect_tensor(const torch::Tensor& actual, const torch::Tensor& expected) {
  EXPECT_EQ(actual.scalar_type(), torch::kLong);
  ASSERT_EQ(actual.sizes(), expected.sizes());
  EXPECT_TRUE(torch::equal(actual, expected)) << actual << "\nexpected\n" << expected;
}

}  // namespace

TEST(CollatorTest, PadsToTheLongestInTheBatch) {
  const Collator c(16, 16);
  const Batch b = c.collate({{{5, 6, 1}, {7, 1}, 10}, {{8, 9, 10, 11, 1}, {12, 13, 14, 1}, 3}});
  EXPECT_EQ(b.size(), 2);
  expect_tensor(b.input_ids, t2d({{5, 6, 1, 0, 0}, {8, 9, 10, 11, 1}}));
  expect_tensor(b.attention_mask, t2d({{1, 1, 1, 0, 0}, {1, 1, 1, 1, 1}}));
  expect_tensor(b.labels, t2d({{7, 1, -100, -100}, {12, 13, 14, 1}}));
  EXPECT_EQ(b.num_input_tokens, 8);
  EXPECT_EQ(b.num_target_tokens, 6);
  EXPECT_EQ(b.indices, (std::vector<int64_t>{10, 3}));
}

TEST(CollatorTest, TruncationKeepsTheFinalEos) {
  const Collator c(3, 2);
  const Batch b = c.collate({{{5, 6, 7, 8, 1}, {9, 10, 11, 1}, 0},  // both cut
                             {{5, 6, 1}, {9, 1}, 1},                // exactly the maximum
                             {{4, 1}, {2}, 2}});                    // shorter
  expect_tensor(b.input_ids, t2d({{5, 6, 1}, {5, 6, 1}, {4, 1, 0}}));
  expect_tensor(b.attention_mask, t2d({{1, 1, 1}, {1, 1, 1}, {1, 1, 0}}));
  expect_tensor(b.labels, t2d({{9, 1}, {9, 1}, {2, -100}}));
  EXPECT_EQ(b.num_input_tokens, 3 + 3 + 2);
  EXPECT_EQ(b.num_target_tokens, 2 + 2 + 1);
  // A cut sequence gets eos even when it had none.
  const Batch no_eos = Collator(2, 2).collate({{{5, 6, 7}, {8, 9, 10}, 0}});
  expect_tensor(no_eos.input_ids, t2d({{5, 1}}));
  expect_tensor(no_eos.labels, t2d({{8, 1}}));
}

TEST(CollatorTest, CustomPadId) {
  const Batch b = Collator(8, 8, /*pad_id=*/7).collate({{{3, 1}, {4, 1}, 0}, {{3}, {4}, 1}});
  expect_tensor(b.input_ids, t2d({{3, 1}, {3, 7}}));
  expect_tensor(b.attention_mask, t2d({{1, 1}, {1, 0}}));
  expect_tensor(b.labels, t2d({{4, 1}, {4, -100}}));
}

TEST(CollatorTest, RejectsBadInput) {
  EXPECT_THROW(Collator(0, 4), ptuner::Error);
  EXPECT_THROW(Collator(4, 0), ptuner::Error);
  const Collator c(4, 4);
  EXPECT_THROW(c.collate({}), ptuner::Error);
  try {
    c.collate({{{3, 1}, {4, 1}, 0}, {{3, 1}, {}, 17}});
    FAIL() << "no error";
  } catch (const ptuner::Error& e) {
    EXPECT_NE(std::string(e.what()).find("dataset index 17"), std::string::npos) << e.what();
  }
}
