#pragma once
#include <mpi.h>

#include <string>
#include <vector>

#include "dist/Communicator.h"

namespace ptuner::dist {

// Throws ptuner::Error naming the call when an MPI function does not return MPI_SUCCESS.
void check_mpi(int code, const char* what);

// Communicator over an MPI communicator, for CPU tensors (f32, f64, bf16, f16, i64, i32, u8).
class MpiCommunicator : public Communicator {
 public:
  // Takes ownership of `comm` unless it is MPI_COMM_WORLD or MPI_COMM_SELF.
  explicit MpiCommunicator(MPI_Comm comm);
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  static std::shared_ptr<MpiCommunicator> world();

  // Hang watchdog (dist.timeout_s): every collective and point-to-point call waits at most this
  // long; then the rank logs the operation, its group and the ranks it waited for, and aborts the
  // job (MPI_Abort), so a stopped or lost rank ends the run instead of hanging it. ≤ 0: no limit.
  // Process-wide; off until set (commands set dist.timeout_s once their model is loaded: loading
  // takes minutes and stages finish it at different times).
  static void set_timeout(double seconds);
  static double timeout();

  // Strict mode (PTUNER_MPI_STRICT=1 in the environment, or set_strict): tensor traffic under
  // NCCL's rules, at least as strictly as NCCL applies them, so that a CPU run shows whether the
  // same call sequence can hang on GPUs. A send returns only once its receive has started
  // (MPI_Issend: an ncclSend may block its stream until the peer's ncclRecv; here the host
  // blocks, which is stricter: a false alarm is possible, a missed hang is not); tags are ignored
  // (NCCL has none: a pair's messages match in the order they were posted); a receive must get
  // exactly its buffer's size (ncclRecv's count): a shorter message is an error naming both
  // sizes, a longer one MPI's truncation error; a tensor broadcast ends with a barrier (no rank
  // leaves before all have entered). Host-side calls (bytes, scalars) are unchanged: on GPUs they
  // stay MPI's. Process-wide.
  static void set_strict(bool strict);
  static bool strict();

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }
  MPI_Comm comm() const { return comm_; }

  void all_reduce(torch::Tensor& t, ReduceOp op) override;
  void broadcast(torch::Tensor& t, int root) override;
  torch::Tensor all_gather(const torch::Tensor& x) override;
  torch::Tensor reduce_scatter(const torch::Tensor& x) override;
  void send(const torch::Tensor& t, int dst, int tag) override;
  void recv(torch::Tensor& t, int src, int tag) override;
  void sendrecv(const torch::Tensor& send, int dst, torch::Tensor& recv, int src, int tag) override;
  void barrier() override;
  void broadcast_bytes(std::string& bytes, int root) override;
  double all_reduce_scalar(double v, ReduceOp op) override;
  std::shared_ptr<Communicator> split(int color, int key) override;

 private:
  // Waits for n requests, within the timeout; `peers`: world ranks it waits for.
  void wait(MPI_Request* requests, int n, const char* what, const std::vector<int>& peers,
            MPI_Status* statuses = MPI_STATUSES_IGNORE);
  // Strict mode: the tag used on the wire, the send (synchronous when strict) and the check that a
  // receive filled its buffer.
  static int wire_tag(int tag);
  void post_send(const void* data, int bytes, int dst, int tag, MPI_Request* request, const char* what) const;
  void check_received(const MPI_Status& status, int64_t expected, const char* what, int src) const;
  int world_rank_of(int rank) const;
  std::vector<int> others() const;  // world ranks of the other members

  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
  std::vector<int> members_;  // world rank of each rank of this group
};

}  // namespace ptuner::dist
