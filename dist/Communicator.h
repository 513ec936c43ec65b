#pragma once
// One communicator interface over a group of ranks. MpiCommunicator serves CPU tensors,
// NcclCommunicator (when compiled in) CUDA tensors, and host tensors through its group's MPI
// communicator. All collectives work in place or return new tensors; every call is collective
// over the group unless it says otherwise.
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace ptuner::dist {

enum class ReduceOp { Sum, Avg, Max };

// Cumulative time a backend spent inside its calls on this rank (waiting for the other ranks
// included), the calls and the payload bytes this rank sent or contributed. MPI calls block, so
// their time is the host's; NCCL calls only enqueue work, so theirs is the device's (events
// around each call on the compute stream), counted once the call has finished on the device.
struct CommStats {
  double seconds = 0;
  int64_t calls = 0;
  int64_t bytes = 0;
};

// A tensor's payload in the statistics.
inline int64_t bytes_of(const torch::Tensor& t) { return t.numel() * static_cast<int64_t>(t.element_size()); }

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;

  // t <- op over ranks of t (in place). bf16/f16 are reduced in f32.
  virtual void all_reduce(torch::Tensor& t, ReduceOp op = ReduceOp::Sum) = 0;
  // t on every rank <- t on root (in place; shapes must already agree).
  virtual void broadcast(torch::Tensor& t, int root) = 0;
  // x: [n, ...] on each rank -> [size·n, ...], rank-major.
  virtual torch::Tensor all_gather(const torch::Tensor& x) = 0;
  // x: [size·n, ...] -> [n, ...]: this rank's block of the sum over ranks.
  virtual torch::Tensor reduce_scatter(const torch::Tensor& x) = 0;
  // Point to point; recv fills t, whose shape and dtype the caller knows.
  virtual void send(const torch::Tensor& t, int dst, int tag = 0) = 0;
  virtual void recv(torch::Tensor& t, int src, int tag = 0) = 0;
  // Both at once (neither waits for the other to finish): the paired pipeline exchanges.
  virtual void sendrecv(const torch::Tensor& send, int dst, torch::Tensor& recv, int src, int tag = 0) = 0;
  virtual void barrier() = 0;
  // Host-side helpers for small control values (seeds, flags, counts).
  virtual void broadcast_bytes(std::string& bytes, int root) = 0;
  virtual double all_reduce_scalar(double v, ReduceOp op) = 0;
  // Every rank's bytes, in rank order, on every rank (host-side: small control data, checkpoint
  // state, predictions).
  std::vector<std::string> all_gather_bytes(const std::string& mine) {
    std::vector<std::string> out(static_cast<size_t>(size()));
    for (int r = 0; r < size(); ++r) {
      if (r == rank()) out[static_cast<size_t>(r)] = mine;
      broadcast_bytes(out[static_cast<size_t>(r)], r);
    }
    return out;
  }
  // Ranks passing the same colour form a new group, ordered by key.
  virtual std::shared_ptr<Communicator> split(int color, int key) = 0;
  // What the group is for ("tp", "pp", "dp", "world"), for messages.
  virtual void set_name(const std::string& name) { name_ = name; }
  const std::string& name() const { return name_; }

  virtual CommStats stats() const { return stats_; }

 protected:
  CommStats stats_;
  std::string name_ = "world";
};

}  // namespace ptuner::dist
