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

// The error check_device_choices gives ("no error" if none).
std::string disagreement(const std::vector<std::string>& choices, const std::string& kind = "auto") {
  try {
    check_device_choices(choices, kind);
  } catch (const ptuner::Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(DeviceChoice, RanksThatChoseDifferentKindsOrCouldNotChooseFailNamingThem) {
  EXPECT_EQ(disagreement({"cpu", "cpu"}), "no error");
  EXPECT_EQ(disagreement({"cuda:0", "cuda:1", "cuda:0"}), "no error");
  // Under auto, ranks 2 and 3 (a node without visible GPUs) took the CPU.
  EXPECT_EQ(disagreement({"cuda:0", "cuda:1", "cpu", "cpu", "cuda:0"}),
            "model.device = \"auto\" chose a GPU on rank(s) 0-1, 4 and the CPU on rank(s) 2-3: every rank must "
            "compute on the same kind of device (does every node see its GPUs? CUDA_VISIBLE_DEVICES, Slurm's "
            "--gpus-per-node); model.device = \"cuda\" or \"cpu\" says which");
  // The first failing rank's reason, and which others failed.
  EXPECT_EQ(disagreement({"cpu", "error: no CUDA device on rank 1", "error: no CUDA device on rank 2"}, "cuda"),
            "no CUDA device on rank 1 (rank(s) 1-2 could not choose a device)");
  EXPECT_EQ(disagreement({"cuda:0", "error: no CUDA device on rank 1"}, "cuda"), "no CUDA device on rank 1");
}

TEST(DeviceChoice, ThisProcessWithItsLibTorch) {
  // This LibTorch (Debian's) has no CUDA: auto is the CPU, cuda an error before any loading.
  if (torch::cuda::is_available()) GTEST_SKIP() << "a CUDA device is visible";
  EXPECT_EQ(choose_device("auto", 0), c10::Device(c10::kCPU));
  EXPECT_THROW(choose_device("cuda", 0), ptuner::Error);
}

}  // namespace
}  // namespace ptuner::dist
