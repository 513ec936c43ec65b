// Built where CUDA and NCCL are found. Without a GPU the backend must refuse clearly; the
// collectives themselves need CUDA tensors (a CUDA LibTorch) and a device.
#include <gtest/gtest.h>

#ifdef PTUNER_HAVE_NCCL
#include "dist/Check.h"
#include "dist/NcclCommunicator.h"

namespace ptuner::dist {
namespace {

TEST(NcclCommunicator, RefusesClearlyWithoutACudaDevice) {
  if (NcclCommunicator::device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
  try {
    NcclCommunicator::world(0);
    FAIL() << "NCCL world built without a device";
  } catch (const ptuner::Error& e) {
    EXPECT_STREQ(e.what(), "the NCCL backend needs a CUDA device, and this process sees none");
  }
}

}  // namespace
}  // namespace ptuner::dist
#endif
