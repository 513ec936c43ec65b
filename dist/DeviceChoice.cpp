#include "dist/DeviceChoice.h"

#include <ATen/detail/CUDAHooksInterface.h>
#include <mpi.h>
#include <torch/cuda.h>

#include <cstdlib>

#include "dist/Check.h"

namespace ptuner::dist {

int node_local_rank() {
  for (const char* var : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID", "LOCAL_RANK"})
    if (const char* v = std::getenv(var)) return std::atoi(v);
  MPI_Comm node;
  PTUNER_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS,
               "MPI_Comm_split_type failed: cannot tell this rank's node-local rank");
  int r = 0;
  MPI_Comm_rank(node, &r);
  MPI_Comm_free(&node);
  return r;
}

c10::Device choose_device(const std::string& kind, bool cuda_built, int visible_devices, int local_rank,
                          int world_rank) {
  PTUNER_CHECK(kind == "auto" || kind == "cpu" || kind == "cuda", "model.device '{}' is not one of: auto, cpu, cuda",
               kind);
  if (kind == "cpu" || (kind == "auto" && (!cuda_built || visible_devices == 0))) return c10::Device(c10::kCPU);
  PTUNER_CHECK(cuda_built, "model.device = \"cuda\" on rank {}: this LibTorch was built without CUDA", world_rank);
  PTUNER_CHECK(visible_devices > 0, "model.device = \"cuda\" on rank {}: no CUDA device is visible to this process",
               world_rank);
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(local_rank % visible_devices));
}

bool cuda_built() { return at::detail::getCUDAHooks().hasCUDART(); }  // false in a CPU-only LibTorch

c10::Device choose_device(const std::string& kind, int world_rank) {
  const bool built = cuda_built();
  const int visible = built ? static_cast<int>(torch::cuda::device_count()) : 0;
  // The node-local rank matters (and is asked for) only where there is a GPU to pick.
  return choose_device(kind, built, visible, kind != "cpu" && visible > 0 ? node_local_rank() : 0, world_rank);
}

}  // namespace ptuner::dist
