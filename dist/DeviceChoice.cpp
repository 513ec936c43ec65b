#include "dist/DeviceChoice.h"

#include <ATen/detail/CUDAHooksInterface.h>
#include <fmt/format.h>
#include <mpi.h>
#include <torch/cuda.h>

#include <cstdlib>

#include "dist/Check.h"
#include "dist/Communicator.h"

namespace ptuner::dist {

int node_local_rank() {
  // Worked out once per process: the split below is collective, and only the first call (in the
  // run's set-up, on every rank) may make it.
  static const int local = [] {
    for (const char* var : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID", "LOCAL_RANK"})
      if (const char* v = std::getenv(var)) return std::atoi(v);
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) return 0;  // a process without MPI (a test): alone on its node
    MPI_Comm node;
    PTUNER_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS,
                 "MPI_Comm_split_type failed: cannot tell this rank's node-local rank");
    int r = 0;
    MPI_Comm_rank(node, &r);
    MPI_Comm_free(&node);
    return r;
  }();
  return local;
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
  // The node-local rank matters only where there is a GPU to pick, but it is asked for on every
  // rank that may pick one, whatever it sees: without a launcher's variable it is an MPI split of
  // the world, which every rank must join (a rank that sees no GPU skipping it would leave the
  // others waiting in it instead of reaching agree_on_device).
  const int local = kind != "cpu" && built ? node_local_rank() : 0;
  return choose_device(kind, built, visible, local, world_rank);
}

namespace {

// Ranks as a short list: "0-3, 6" (runs of consecutive ranks folded).
std::string rank_list(const std::vector<int>& ranks) {
  std::string out;
  for (size_t i = 0; i < ranks.size();) {
    size_t j = i;
    while (j + 1 < ranks.size() && ranks[j + 1] == ranks[j] + 1) ++j;
    if (!out.empty()) out += ", ";
    out += j == i ? std::to_string(ranks[i]) : fmt::format("{}-{}", ranks[i], ranks[j]);
    i = j + 1;
  }
  return out;
}

constexpr const char* kError = "error: ";

}  // namespace

void check_device_choices(const std::vector<std::string>& choices, const std::string& kind) {
  std::vector<int> failed, cuda, cpu;
  for (size_t r = 0; r < choices.size(); ++r) {
    const auto& c = choices[r];
    auto& into = c.rfind(kError, 0) == 0 ? failed : c.rfind("cuda", 0) == 0 ? cuda : cpu;
    into.push_back(static_cast<int>(r));
  }
  if (!failed.empty()) {
    const std::string first = choices[static_cast<size_t>(failed[0])].substr(std::string(kError).size());
    PTUNER_FAIL("{}{}", first,
                failed.size() > 1 ? fmt::format(" (rank(s) {} could not choose a device)", rank_list(failed))
                                  : std::string());
  }
  PTUNER_CHECK(cuda.empty() || cpu.empty(),
               "model.device = \"{}\" chose a GPU on rank(s) {} and the CPU on rank(s) {}: every rank must compute "
               "on the same kind of device (does every node see its GPUs? CUDA_VISIBLE_DEVICES, Slurm's "
               "--gpus-per-node); model.device = \"cuda\" or \"cpu\" says which",
               kind, rank_list(cuda), rank_list(cpu));
}

c10::Device agree_on_device(Communicator& world, const std::string& kind, const std::function<c10::Device()>& choose) {
  c10::Device device(c10::kCPU);
  std::string mine;
  try {
    device = choose();
    mine = device.str();
  } catch (const std::exception& e) {
    mine = std::string(kError) + e.what();
  }
  check_device_choices(world.all_gather_bytes(mine), kind);
  return device;
}

}  // namespace ptuner::dist
