#include <gtest/gtest.h>

#include "dist/Check.h"
#include "dist/MpiCommunicator.h"
#include "dist/ParallelState.h"
#include "tests/MpiSupport.h"

namespace ptuner::dist {
namespace {

// rank = pp·(tp·dp) + dp·tp + tp, for tp = 2, pp = 2, dp = 3 (12 ranks).
TEST(Coordinates, MegatronOrderByHand) {
  Layout l{2, 2, 3};
  auto c = Coordinates::of(l, 7);  // 7 = 1·6 + 0·2 + 1
  EXPECT_EQ(c.tp_idx, 1);
  EXPECT_EQ(c.dp_idx, 0);
  EXPECT_EQ(c.pp_idx, 1);
  auto d = Coordinates::of(l, 5);  // 5 = 0·6 + 2·2 + 1
  EXPECT_EQ(d.tp_idx, 1);
  EXPECT_EQ(d.dp_idx, 2);
  EXPECT_EQ(d.pp_idx, 0);
  for (int r = 0; r < l.world(); ++r) EXPECT_EQ(Coordinates::of(l, r).world_rank(l), r);
  EXPECT_EQ(d.tag(), "tp1 pp0 dp2");
  EXPECT_THROW(Coordinates::of(l, 12), ptuner::Error);
}

TEST(ParallelState, SingleRankLayout) {
  ParallelState ps(Layout{}, ptuner::testing::self());
  EXPECT_TRUE(ps.is_first_stage());
  EXPECT_TRUE(ps.is_last_stage());
  EXPECT_EQ(ps.next_rank(), -1);
  EXPECT_EQ(ps.prev_rank(), -1);
  EXPECT_EQ(ps.tp().size(), 1);
  EXPECT_EQ(ps.dp().size(), 1);
  EXPECT_TRUE(ps.is_writer());
}

TEST(ParallelState, RefusesALayoutThatDoesNotMatchTheJob) {
  try {
    ParallelState ps(Layout{2, 1, 2}, ptuner::testing::self());
    FAIL();
  } catch (const ptuner::Error& e) {
    EXPECT_STREQ(e.what(), "parallel layout tp=2 pp=1 dp=2 needs tp·pp·dp = 4 ranks, but the job has 1 ranks");
  }
}

TEST(MpiCommunicator, SingleRankCollectivesAreIdentities) {
  ptuner::testing::ensure_mpi();
  MpiCommunicator c(MPI_COMM_SELF);
  auto t = torch::tensor({1.5f, -2.0f});
  c.all_reduce(t, ReduceOp::Avg);
  EXPECT_TRUE(torch::equal(t, torch::tensor({1.5f, -2.0f})));
  auto bf = torch::tensor({1.0f, 3.0f}).to(torch::kBFloat16);
  c.all_reduce(bf, ReduceOp::Sum);
  EXPECT_EQ(bf.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(c.all_gather(torch::ones({2, 3})), torch::ones({2, 3})));
  EXPECT_DOUBLE_EQ(c.all_reduce_scalar(2.5, ReduceOp::Max), 2.5);
  EXPECT_THROW(
      {
        auto i = torch::tensor({1, 2}, torch::kInt16);
        c.all_reduce(i, ReduceOp::Sum);
      },
      ptuner::Error);
}

}  // namespace
}  // namespace ptuner::dist
