#pragma once
// One device per rank, chosen at start-up and passed down (ParallelState::device()):
//   cpu    the CPU (MPI communicators)
//   cuda   cuda:(node-local rank mod visible devices) (NCCL communicators); an error naming the
//          rank and the reason when this LibTorch has no CUDA or the rank sees no device
//   auto   cuda where this LibTorch has CUDA and a device is visible, else cpu
// The node-local rank comes from the launcher (OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID,
// MPI_LOCALRANKID, LOCAL_RANK) or else an MPI shared-memory split of the world.
#include <c10/core/Device.h>

#include <string>

namespace ptuner::dist {

int node_local_rank();
// Whether this LibTorch was built with CUDA (whatever devices the machine has).
bool cuda_built();
// Pure choice from what the process sees (testable without a GPU).
c10::Device choose_device(const std::string& kind, bool cuda_built, int visible_devices, int local_rank,
                          int world_rank);
// The choice for this process (LibTorch's CUDA availability and device count).
c10::Device choose_device(const std::string& kind, int world_rank);

}  // namespace ptuner::dist
