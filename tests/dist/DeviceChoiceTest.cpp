// The device a rank computes on, from what the process sees.
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include "dist/Check.h"
#include "dist/DeviceChoice.h"

namespace ptuner::dist {
namespace {

std::string error_of(const std::string& kind, bool built, int visible) {
  try {
    choose_device(kind, built, visible, 0, 3);
  } catch (const ptuner::Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(DeviceChoice, AutoTakesTheLocalRanksGpuWhenThereIsOneAndTheCpuOtherwise) {
  EXPECT_EQ(choose_device("auto", true, 8, 11, 11), c10::Device(c10::kCUDA, 3));
  EXPECT_EQ(choose_device("cuda", true, 4, 2, 6), c10::Device(c10::kCUDA, 2));
  EXPECT_EQ(choose_device("auto", true, 0, 1, 1), c10::Device(c10::kCPU));
  EXPECT_EQ(choose_device("auto", false, 0, 1, 1), c10::Device(c10::kCPU));
  EXPECT_EQ(choose_device("cpu", true, 8, 1, 1), c10::Device(c10::kCPU));
}

TEST(DeviceChoice, CudaThatCannotBeFailsNamingTheRankAndTheReason) {
  EXPECT_EQ(error_of("cuda", false, 0), "model.device = \"cuda\" on rank 3: this LibTorch was built without CUDA");
  EXPECT_EQ(error_of("cuda", true, 0), "model.device = \"cuda\" on rank 3: no CUDA device is visible to this process");
  EXPECT_EQ(error_of("gpu", true, 1), "model.device 'gpu' is not one of: auto, cpu, cuda");
}

TEST(DeviceChoice, ThisProcessWithItsLibTorch) {
  // This LibTorch (Debian's) has no CUDA: auto is the CPU, cuda an error before any loading.
  if (torch::cuda::is_available()) GTEST_SKIP() << "a CUDA device is visible";
  EXPECT_EQ(choose_device("auto", 0), c10::Device(c10::kCPU));
  EXPECT_THROW(choose_device("cuda", 0), ptuner::Error);
}

}  // namespace
}  // namespace ptuner::dist
