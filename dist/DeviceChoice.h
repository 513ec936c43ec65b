#pragma once
// One device per rank, chosen at start-up and passed down (ParallelState::device()):
//   cpu    the CPU (MPI communicators)
//   cuda   cuda:(node-local rank mod visible devices) (NCCL communicators); an error naming the
//          rank and the reason when this LibTorch has no CUDA or the rank sees no device
//   auto   cuda where this LibTorch has CUDA and a device is visible, else cpu
// The node-local rank comes from the launcher (OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID,
// MPI_LOCALRANKID, LOCAL_RANK) or else an MPI shared-memory split of the world.
#include <c10/core/Device.h>

#include <functional>
#include <string>
#include <vector>

namespace ptuner::dist {

// Collective over MPI_COMM_WORLD at its first call where no launcher variable gives it (later
// calls return the first answer).
int node_local_rank();
// Whether this LibTorch was built with CUDA (whatever devices the machine has).
bool cuda_built();
// Pure choice from what the process sees (testable without a GPU).
c10::Device choose_device(const std::string& kind, bool cuda_built, int visible_devices, int local_rank,
                          int world_rank);
// The choice for this process (LibTorch's CUDA availability and device count).
c10::Device choose_device(const std::string& kind, int world_rank);

class Communicator;

// Every rank's choice (a device's name, or "error: " and why it could not choose), in rank
// order, checked alike on every rank: an error names the ranks that failed and the first one's
// reason; a mix of CUDA and CPU ranks (under auto, a node whose GPUs the process does not see)
// names both sets. Pure: the same message on every rank.
void check_device_choices(const std::vector<std::string>& choices, const std::string& kind);
// `choose` on this rank, then every rank's choice gathered over `world` (MPI, host-side) and
// checked before any communicator is made for it: all ranks fail together instead of some of them
// waiting in NCCL's set-up for peers that took the CPU.
c10::Device agree_on_device(Communicator& world, const std::string& kind, const std::function<c10::Device()>& choose);

}  // namespace ptuner::dist
