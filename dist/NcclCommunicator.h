#pragma once
// Communicator over NCCL for CUDA tensors. The unique id is made by the group's first rank and
// broadcast over the group's MPI communicator (which also serves the host-side helpers); one
// ncclComm per group (ncclCommInitRank). Every NCCL and CUDA call is checked, and each
// collective waits on the stream while polling ncclCommGetAsyncError: a peer that died turns
// into an error (the communicator is aborted) after `timeout_s`, not into a hang.
// Compiled only where CUDA and NCCL are found (PTUNER_HAVE_NCCL).
#include <memory>

#include "dist/MpiCommunicator.h"

namespace ptuner::dist {

struct NcclState;

class NcclCommunicator : public Communicator {
 public:
  // Collective over `mpi`'s group. The CUDA device must already be selected.
  explicit NcclCommunicator(std::shared_ptr<MpiCommunicator> mpi, double timeout_s = 600.0);
  ~NcclCommunicator() override;

  // The world, with this process's GPU chosen by its node-local rank (local rank mod devices).
  static std::shared_ptr<NcclCommunicator> world(double timeout_s = 600.0);
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
  void barrier() override;
  void broadcast_bytes(std::string& bytes, int root) override { mpi_->broadcast_bytes(bytes, root); }
  double all_reduce_scalar(double v, ReduceOp op) override { return mpi_->all_reduce_scalar(v, op); }
  std::shared_ptr<Communicator> split(int color, int key) override;

 private:
  void wait(const char* what);  // stream completion, with asynchronous-error polling

  std::shared_ptr<MpiCommunicator> mpi_;
  std::unique_ptr<NcclState> state_;
  double timeout_s_;
};

}  // namespace ptuner::dist
