#pragma once
// Communicator over NCCL for CUDA tensors. The unique id is made by the group's first rank and
// broadcast over the group's MPI communicator, which also serves the host-side helpers and every
// call on host tensors (the loaded-model log's memory gather, the bench's per-rank figures): a
// CUDA run's groups take both kinds. One ncclComm per group (ncclCommInitRank).
//
// Every collective and point-to-point call is enqueued on the compute stream: the CUDA device's
// default (legacy) stream, on which LibTorch runs its kernels unless a program sets another
// stream, which ptuner never does. So a matmul, the all-reduce of its output and the next
// kernel follow each other on the device with no host synchronisation between them, and the
// caching allocator's stream-ordered reuse of a freed input stays safe. The host waits only where
// it reads a result (a loss, a barrier).
//
// A watchdog thread per communicator keeps the failure guarantees: it records an event after
// each enqueued call and polls, every few milliseconds, the oldest unfinished one (timed from
// when the call before it finished), an NCCL call the host is still inside, and
// ncclCommGetAsyncError. A call unfinished after the hang timeout (MpiCommunicator::timeout(),
// dist.timeout_s), an asynchronous NCCL error (a peer gone) or a device error logs which call on
// which rank, aborts the NCCL communicator and ends the job with MPI_Abort, as the MPI path's
// watchdog does: an error, not a hang. A communicator destroyed with work unfinished, or while an
// exception unwinds, is aborted rather than destroyed (destroying would wait for peers that may
// never come). Every NCCL and CUDA call is checked.
// Compiled only where CUDA and NCCL are found (PTUNER_HAVE_NCCL).
#include <cuda_runtime.h>

#include <memory>

#include "dist/MpiCommunicator.h"

namespace ptuner::dist {

struct NcclState;

class NcclCommunicator : public Communicator {
 public:
  // Collective over `mpi`'s group, on the current CUDA device (already selected).
  explicit NcclCommunicator(std::shared_ptr<MpiCommunicator> mpi);
  ~NcclCommunicator() override;

  // The world on CUDA device `device_index` (made current for this process first).
  static std::shared_ptr<NcclCommunicator> world(int device_index);
  static int device_count();

  int rank() const override { return mpi_->rank(); }
  int size() const override { return mpi_->size(); }
  std::string backend() const override { return "nccl"; }

  void all_reduce(torch::Tensor& t, ReduceOp op) override;
  void broadcast(torch::Tensor& t, int root) override;
  torch::Tensor all_gather(const torch::Tensor& x) override;
  torch::Tensor reduce_scatter(const torch::Tensor& x) override;
  void send(const torch::Tensor& t, int dst, int tag) override;
  void recv(torch::Tensor& t, int src, int tag) override;
  void sendrecv(const torch::Tensor& send, int dst, torch::Tensor& recv, int src, int tag) override;
  // Host and device: every member's earlier work on the compute stream is done when it returns.
  void barrier() override;
  void broadcast_bytes(std::string& bytes, int root) override { mpi_->broadcast_bytes(bytes, root); }
  double all_reduce_scalar(double v, ReduceOp op) override { return mpi_->all_reduce_scalar(v, op); }
  std::shared_ptr<Communicator> split(int color, int key) override;
  // The name reaches the watchdog's messages and the group's MPI communicator too.
  void set_name(const std::string& name) override;
  // NCCL calls timed on the device (CUDA events around each on the compute stream; the calls
  // that have finished), plus the host-tensor calls of the MPI group.
  CommStats stats() const override;

 private:
  // Marks an enqueued call's start and, on leaving, its end on the compute stream.
  class TimedCall {
   public:
    TimedCall(NcclState& state, int64_t bytes);
    ~TimedCall();
    TimedCall(const TimedCall&) = delete;
    TimedCall& operator=(const TimedCall&) = delete;

   private:
    NcclState& state_;
    int64_t bytes_;
    cudaEvent_t start_;
  };
  // Marks the host as inside an NCCL call for its lifetime (the watchdog times it too).
  class HostCall {
   public:
    HostCall(NcclState& state, const char* what);
    ~HostCall();
    HostCall(const HostCall&) = delete;
    HostCall& operator=(const HostCall&) = delete;

   private:
    NcclState& state_;
  };
  // After a call was enqueued: its completion event, for the watchdog.
  void enqueued(const char* what);

  std::shared_ptr<MpiCommunicator> mpi_;
  std::unique_ptr<NcclState> state_;
};

}  // namespace ptuner::dist
