// The bench's clock of queued work: on a CPU device, the host's steady clock between marks.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "dist/Check.h"
#include "dist/DeviceClock.h"

namespace ptuner::dist {
namespace {

TEST(DeviceClock, CpuMarksAreTheHostClock) {
  DeviceClock clock(c10::Device(c10::kCPU));
  EXPECT_FALSE(clock.on_device());
  const size_t a = clock.mark();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  const size_t b = clock.mark();
  EXPECT_EQ(a, 0u);
  EXPECT_EQ(b, 1u);
  EXPECT_GE(clock.seconds(a, b), 0.030);
  EXPECT_LT(clock.seconds(a, b), 5.0);
  EXPECT_EQ(clock.seconds(b, b), 0.0);
  EXPECT_LE(clock.seconds(b, a), -0.030);
  // After clear() the marks count from 0 again, and the old ones are gone.
  clock.clear();
  EXPECT_EQ(clock.mark(), 0u);
  try {
    clock.seconds(0, 1);
    FAIL() << "a mark past the last one was read";
  } catch (const ptuner::Error& e) {
    EXPECT_STREQ(e.what(), "DeviceClock: marks 0 and 1 of 1");
  }
}

}  // namespace
}  // namespace ptuner::dist
