#include "dist/MpiCommunicator.h"

#include <chrono>

#include "dist/Check.h"

namespace ptuner::dist {

void check_mpi(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, msg, &len);
  PTUNER_FAIL("MPI call {} failed: {}", what, std::string(msg, len));
}

namespace {

MPI_Datatype mpi_type(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return MPI_FLOAT;
    case torch::kFloat64: return MPI_DOUBLE;
    case torch::kInt64: return MPI_INT64_T;
    case torch::kInt32: return MPI_INT32_T;
    case torch::kUInt8: return MPI_UINT8_T;
    case torch::kBool: return MPI_UINT8_T;
    default: PTUNER_FAIL("MpiCommunicator: no MPI type for tensor dtype {}", c10::toString(t));
  }
}

bool reduced_in_f32(torch::ScalarType t) { return t == torch::kBFloat16 || t == torch::kFloat16; }

void check_cpu_contiguous(const torch::Tensor& t, const char* what) {
  PTUNER_CHECK(t.device().is_cpu(), "MpiCommunicator::{}: tensor is on {}, the MPI backend takes CPU tensors",
               what, t.device().str());
  PTUNER_CHECK(t.is_contiguous(), "MpiCommunicator::{}: tensor must be contiguous", what);
}

// Adds the enclosing call's duration, one call and its bytes to the communicator's stats.
class Timed {
 public:
  Timed(CommStats& stats, int64_t bytes) : stats_(stats), start_(std::chrono::steady_clock::now()) {
    stats_.calls += 1;
    stats_.bytes += bytes;
  }
  ~Timed() { stats_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  CommStats& stats_;
  std::chrono::steady_clock::time_point start_;
};

int64_t bytes_of(const torch::Tensor& t) { return t.numel() * static_cast<int64_t>(t.element_size()); }

}  // namespace

MpiCommunicator::MpiCommunicator(MPI_Comm comm) : comm_(comm) {
  check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_WORLD && comm_ != MPI_COMM_SELF && comm_ != MPI_COMM_NULL)
    MPI_Comm_free(&comm_);
}

std::shared_ptr<MpiCommunicator> MpiCommunicator::world() {
  return std::make_shared<MpiCommunicator>(MPI_COMM_WORLD);
}

void MpiCommunicator::all_reduce(torch::Tensor& t, ReduceOp op) {
  check_cpu_contiguous(t, "all_reduce");
  if (reduced_in_f32(t.scalar_type())) {
    auto f = t.to(torch::kFloat32).contiguous();
    all_reduce(f, op);  // timed there
    t.copy_(f);
    return;
  }
  Timed timed(stats_, bytes_of(t));
  MPI_Op mop = op == ReduceOp::Max ? MPI_MAX : MPI_SUM;
  const MPI_Datatype type = mpi_type(t.scalar_type());  // validated on one rank too
  if (size_ > 1)
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, t.data_ptr(), static_cast<int>(t.numel()), type, mop, comm_),
              "MPI_Allreduce");
  if (op == ReduceOp::Avg) {
    PTUNER_CHECK(t.is_floating_point(), "all_reduce(Avg) needs a floating tensor, got {}",
                 c10::toString(t.scalar_type()));
    t.div_(size_);
  }
}

void MpiCommunicator::broadcast(torch::Tensor& t, int root) {
  check_cpu_contiguous(t, "broadcast");
  Timed timed(stats_, bytes_of(t));
  if (!reduced_in_f32(t.scalar_type())) mpi_type(t.scalar_type());  // validated on one rank too
  if (size_ == 1) return;
  if (reduced_in_f32(t.scalar_type())) {
    // Same bytes either way: broadcast the raw 16-bit payload.
    check_mpi(MPI_Bcast(t.data_ptr(), static_cast<int>(t.numel() * 2), MPI_BYTE, root, comm_), "MPI_Bcast");
    return;
  }
  check_mpi(MPI_Bcast(t.data_ptr(), static_cast<int>(t.numel()), mpi_type(t.scalar_type()), root, comm_),
            "MPI_Bcast");
}

torch::Tensor MpiCommunicator::all_gather(const torch::Tensor& x) {
  auto in = x.contiguous();
  check_cpu_contiguous(in, "all_gather");
  std::vector<int64_t> shape(in.sizes().begin(), in.sizes().end());
  PTUNER_CHECK(!shape.empty(), "all_gather needs a tensor with at least one dimension");
  shape[0] *= size_;
  Timed timed(stats_, bytes_of(in));
  auto out = torch::empty(shape, in.options());
  const int bytes = static_cast<int>(in.numel() * in.element_size());
  check_mpi(MPI_Allgather(in.data_ptr(), bytes, MPI_BYTE, out.data_ptr(), bytes, MPI_BYTE, comm_),
            "MPI_Allgather");
  return out;
}

torch::Tensor MpiCommunicator::reduce_scatter(const torch::Tensor& x) {
  PTUNER_CHECK(x.dim() >= 1 && x.size(0) % size_ == 0,
               "reduce_scatter: leading dimension {} is not divisible by group size {}",
               x.dim() ? x.size(0) : 0, size_);
  auto sum = x.contiguous().clone();
  all_reduce(sum, ReduceOp::Sum);
  return sum.chunk(size_, 0)[rank_].clone();
}

void MpiCommunicator::send(const torch::Tensor& t, int dst, int tag) {
  auto c = t.contiguous();
  check_cpu_contiguous(c, "send");
  Timed timed(stats_, bytes_of(c));
  check_mpi(MPI_Send(c.data_ptr(), static_cast<int>(c.numel() * c.element_size()), MPI_BYTE, dst, tag, comm_),
            "MPI_Send");
}

void MpiCommunicator::recv(torch::Tensor& t, int src, int tag) {
  check_cpu_contiguous(t, "recv");
  Timed timed(stats_, 0);
  MPI_Status status;
  check_mpi(MPI_Recv(t.data_ptr(), static_cast<int>(t.numel() * t.element_size()), MPI_BYTE, src, tag, comm_,
                     &status),
            "MPI_Recv");
}

void MpiCommunicator::sendrecv(const torch::Tensor& send, int dst, torch::Tensor& recv, int src, int tag) {
  auto c = send.contiguous();
  check_cpu_contiguous(c, "sendrecv");
  check_cpu_contiguous(recv, "sendrecv");
  Timed timed(stats_, bytes_of(c));
  MPI_Status status;
  check_mpi(MPI_Sendrecv(c.data_ptr(), static_cast<int>(c.numel() * c.element_size()), MPI_BYTE, dst, tag,
                         recv.data_ptr(), static_cast<int>(recv.numel() * recv.element_size()), MPI_BYTE, src, tag,
                         comm_, &status),
            "MPI_Sendrecv");
}

void MpiCommunicator::barrier() {
  Timed timed(stats_, 0);
  check_mpi(MPI_Barrier(comm_), "MPI_Barrier");
}

void MpiCommunicator::broadcast_bytes(std::string& bytes, int root) {
  if (size_ == 1) return;
  Timed timed(stats_, static_cast<int64_t>(bytes.size()));
  long long n = static_cast<long long>(bytes.size());
  check_mpi(MPI_Bcast(&n, 1, MPI_LONG_LONG, root, comm_), "MPI_Bcast(size)");
  bytes.resize(static_cast<size_t>(n));
  check_mpi(MPI_Bcast(bytes.data(), static_cast<int>(n), MPI_BYTE, root, comm_), "MPI_Bcast(bytes)");
}

double MpiCommunicator::all_reduce_scalar(double v, ReduceOp op) {
  double out = v;
  Timed timed(stats_, sizeof(double));
  check_mpi(MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, op == ReduceOp::Max ? MPI_MAX : MPI_SUM, comm_),
            "MPI_Allreduce(scalar)");
  return op == ReduceOp::Avg ? out / size_ : out;
}

std::shared_ptr<Communicator> MpiCommunicator::split(int color, int key) {
  MPI_Comm sub;
  check_mpi(MPI_Comm_split(comm_, color, key, &sub), "MPI_Comm_split");
  return std::make_shared<MpiCommunicator>(sub);
}

}  // namespace ptuner::dist
