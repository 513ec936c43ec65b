// Every rank's device choice gathered and checked alike: ranks that chose different kinds, or a
// rank that could not choose, fail on every rank with one message, before any communicator is
// made for the device.
#include <gtest/gtest.h>

#include "dist/Check.h"
#include "dist/DeviceChoice.h"
#include "tests/MpiSupport.h"

namespace ptuner::dist {
namespace {

using ptuner::testing::world;

// The error agree_on_device gives on this rank ("no error" if none).
std::string error_of(Communicator& w, const std::string& kind, const std::function<c10::Device()>& choose) {
  try {
    agree_on_device(w, kind, choose);
  } catch (const ptuner::Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(DeviceAgreement, EveryRankFailsTogetherNamingTheRanks) {
  auto w = world();
  const int n = w->size(), r = w->rank();
  // All on the CPU: each rank's own choice back.
  EXPECT_EQ(agree_on_device(*w, "auto", [] { return c10::Device(c10::kCPU); }), c10::Device(c10::kCPU));
  // Rank 0 took a GPU (a value only: nothing is allocated on it), the others the CPU.
  const auto mixed = error_of(*w, "auto", [&] { return r == 0 ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU); });
  const std::string others = n == 2 ? "1" : "1-" + std::to_string(n - 1);
  EXPECT_EQ(mixed.rfind("model.device = \"auto\" chose a GPU on rank(s) 0 and the CPU on rank(s) " + others + ":", 0), 0u)
      << mixed;
  // The last rank cannot choose: every rank gets its reason.
  const auto failed = error_of(*w, "cuda", [&]() -> c10::Device {
    PTUNER_CHECK(r != n - 1, "model.device = \"cuda\" on rank {}: no CUDA device is visible to this process", r);
    return c10::Device(c10::kCUDA, 0);
  });
  EXPECT_EQ(failed, "model.device = \"cuda\" on rank " + std::to_string(n - 1) +
                        ": no CUDA device is visible to this process");
}

}  // namespace
}  // namespace ptuner::dist
