// The dedicated-processor replay of a pipeline flush against timelines worked out by hand.
#include <gtest/gtest.h>

#include "dist/Check.h"
#include "launch/PipelineReplay.h"

namespace ptuner::launch {
namespace {

// The op order PipelineSchedule runs on stage s of p with m micro-batches.
std::vector<StageOp> order(const std::string& kind, int64_t p, int64_t s, int64_t m, double f, double b) {
  std::vector<StageOp> ops;
  auto F = [&](int64_t i) { ops.push_back({'F', i, f, f}); };
  auto B = [&](int64_t i) { ops.push_back({'B', i, b, b}); };
  if (kind == "gpipe") {
    for (int64_t i = 0; i < m; ++i) F(i);
    for (int64_t i = 0; i < m; ++i) B(i);
    return ops;
  }
  const int64_t warmup = std::min(p - s - 1, m);
  for (int64_t i = 0; i < warmup; ++i) F(i);
  for (int64_t i = 0; i < m - warmup; ++i) F(warmup + i), B(i);
  for (int64_t i = m - warmup; i < m; ++i) B(i);
  return ops;
}

std::vector<std::vector<StageOp>> pipeline(const std::string& kind, int64_t p, int64_t m, double f, double b) {
  std::vector<std::vector<StageOp>> stages;
  for (int64_t s = 0; s < p; ++s) stages.push_back(order(kind, p, s, m, f, b));
  return stages;
}

TEST(PipelineReplay, EqualStagesGiveTheIdealBubbleUnderBothSchedules) {
  for (const char* kind : {"gpipe", "1f1b"})
    for (int64_t m : {1, 4, 16}) {
      auto r = replay_pipeline(pipeline(kind, 4, m, 1.0, 2.0));
      EXPECT_DOUBLE_EQ(r.makespan, (m + 3) * 3.0) << kind << " m=" << m;
      EXPECT_NEAR(r.bubble(), ideal_bubble(4, m), 1e-12) << kind << " m=" << m;
    }
  EXPECT_DOUBLE_EQ(ideal_bubble(4, 4), 3.0 / 7.0);
  EXPECT_DOUBLE_EQ(ideal_bubble(4, 16), 3.0 / 19.0);
}

TEST(PipelineReplay, ASlowStageSetsThePace) {
  // p = 2, m = 2, gpipe; stage 0: F = B = 1, stage 1: F = B = 2.
  //   stage 1: F0 [1,3] F1 [3,5] B0 [5,7] B1 [7,9]; stage 0: F0 [0,1] F1 [1,2] B0 [7,8] B1 [9,10]
  // makespan 10, busy 4 and 8: bubble (6/10 + 2/10) / 2 = 0.4.
  std::vector<std::vector<StageOp>> stages = {order("gpipe", 2, 0, 2, 1, 1), order("gpipe", 2, 1, 2, 2, 2)};
  auto r = replay_pipeline(stages);
  EXPECT_DOUBLE_EQ(r.makespan, 10.0);
  EXPECT_DOUBLE_EQ(r.busy[0], 4.0);
  EXPECT_DOUBLE_EQ(r.busy[1], 8.0);
  EXPECT_DOUBLE_EQ(r.bubble(), 0.4);
}

TEST(PipelineReplay, UsesWallOrCpuDurationsAsAsked) {
  std::vector<std::vector<StageOp>> one = {{{'F', 0, 5.0, 1.0}, {'B', 0, 7.0, 2.0}}};
  EXPECT_DOUBLE_EQ(replay_pipeline(one, true).makespan, 3.0);
  EXPECT_DOUBLE_EQ(replay_pipeline(one, false).makespan, 12.0);
  EXPECT_DOUBLE_EQ(replay_pipeline(one).bubble(), 0.0);
}

TEST(PipelineReplay, OrdersThatWaitOnEachOtherAreAnError) {
  // Stage 0 wants B0 before stage 1 has run F0, which needs stage 0's F0 first... that stage 0
  // never runs: a deadlock.
  std::vector<std::vector<StageOp>> stages = {{{'B', 0, 1, 1}, {'F', 0, 1, 1}}, {{'F', 0, 1, 1}, {'B', 0, 1, 1}}};
  EXPECT_THROW(replay_pipeline(stages), ptuner::Error);
}

}  // namespace
}  // namespace ptuner::launch
