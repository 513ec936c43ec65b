#include "dist/MpiCommunicator.h"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <chrono>
#include <string>
#include <thread>

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

std::atomic<double> g_timeout{0.0};  // off until a command has loaded its model

bool strict_from_environment() {
  const char* v = std::getenv("PTUNER_MPI_STRICT");
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}
std::atomic<bool> g_strict{strict_from_environment()};

}  // namespace

void MpiCommunicator::set_timeout(double seconds) { g_timeout.store(seconds); }
double MpiCommunicator::timeout() { return g_timeout.load(); }
void MpiCommunicator::set_strict(bool strict) { g_strict.store(strict); }
bool MpiCommunicator::strict() { return g_strict.load(); }

int MpiCommunicator::wire_tag(int tag) { return strict() ? 0 : tag; }

void MpiCommunicator::post_send(const void* data, int bytes, int dst, int tag, MPI_Request* request,
                                const char* what) const {
  if (strict())
    check_mpi(MPI_Issend(data, bytes, MPI_BYTE, dst, wire_tag(tag), comm_, request), what);
  else
    check_mpi(MPI_Isend(data, bytes, MPI_BYTE, dst, tag, comm_, request), what);
}

void MpiCommunicator::check_received(const MPI_Status& status, int64_t expected, const char* what, int src) const {
  if (!strict()) return;
  int count = 0;
  check_mpi(MPI_Get_count(&status, MPI_BYTE, &count), "MPI_Get_count");
  PTUNER_CHECK(count == expected,
               "MpiCommunicator::{} (strict) on the {} group: received {} bytes from world rank {} into a buffer of {} "
               "bytes; NCCL needs the two sides' counts to agree (the messages of a pair are matched in order, with "
               "no tags)",
               what, name(), count, world_rank_of(src), expected);
}

int MpiCommunicator::world_rank_of(int rank) const { return members_.at(static_cast<size_t>(rank)); }

std::vector<int> MpiCommunicator::others() const {
  std::vector<int> out;
  for (int i = 0; i < size_; ++i)
    if (i != rank_) out.push_back(members_[static_cast<size_t>(i)]);
  return out;
}

void MpiCommunicator::wait(MPI_Request* requests, int n, const char* what, const std::vector<int>& peers,
                           MPI_Status* statuses) {
  using Clock = std::chrono::steady_clock;
  const double limit = timeout();
  const auto start = Clock::now();
  int done = 0;
  for (int64_t polls = 0;; ++polls) {
    int code = MPI_Testall(n, requests, &done, statuses);
    if (code == MPI_ERR_IN_STATUS)  // with statuses asked for: the failed request's own error
      for (int i = 0; i < n; ++i)
        if (statuses[i].MPI_ERROR != MPI_SUCCESS && statuses[i].MPI_ERROR != MPI_ERR_PENDING) {
          code = statuses[i].MPI_ERROR;
          break;
        }
    check_mpi(code, what);
    if (done) return;
    // Spin briefly (most calls finish within microseconds), then poll without hogging a core.
    if (polls < 2000)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    if (limit > 0 && polls % 64 == 0) {
      const double waited = std::chrono::duration<double>(Clock::now() - start).count();
      if (waited > limit) {
        int world_rank = 0;
        MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
        spdlog::error("rank {}: {} on the {} group has waited {:.0f} s for world rank{} {} (dist.timeout_s = {}): "
                      "a rank stopped, hung or was lost; aborting the job",
                      world_rank, what, name(), waited, peers.size() == 1 ? "" : "s", fmt::join(peers, ", "), limit);
        spdlog::default_logger()->flush();
        std::fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);
      }
    }
  }
}

MpiCommunicator::MpiCommunicator(MPI_Comm comm) : comm_(comm) {
  check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  if (comm_ == MPI_COMM_SELF) name_ = "self";
  // World ranks of the members, for the watchdog's messages.
  MPI_Group group, world;
  check_mpi(MPI_Comm_group(comm_, &group), "MPI_Comm_group");
  check_mpi(MPI_Comm_group(MPI_COMM_WORLD, &world), "MPI_Comm_group");
  std::vector<int> mine(static_cast<size_t>(size_));
  for (int i = 0; i < size_; ++i) mine[static_cast<size_t>(i)] = i;
  members_.resize(static_cast<size_t>(size_));
  check_mpi(MPI_Group_translate_ranks(group, size_, mine.data(), world, members_.data()), "MPI_Group_translate_ranks");
  MPI_Group_free(&group);
  MPI_Group_free(&world);
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
  if (size_ > 1) {
    MPI_Request req;
    check_mpi(MPI_Iallreduce(MPI_IN_PLACE, t.data_ptr(), static_cast<int>(t.numel()), type, mop, comm_, &req),
              "MPI_Allreduce");
    wait(&req, 1, "all_reduce", others());
  }
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
    MPI_Request req;
    check_mpi(MPI_Ibcast(t.data_ptr(), static_cast<int>(t.numel() * 2), MPI_BYTE, root, comm_, &req), "MPI_Bcast");
    wait(&req, 1, "broadcast", {world_rank_of(root)});
  } else {
    MPI_Request req;
    check_mpi(MPI_Ibcast(t.data_ptr(), static_cast<int>(t.numel()), mpi_type(t.scalar_type()), root, comm_, &req),
              "MPI_Bcast");
    wait(&req, 1, "broadcast", {world_rank_of(root)});
  }
  if (strict()) {  // the root leaves no earlier than the last rank enters
    MPI_Request req;
    check_mpi(MPI_Ibarrier(comm_, &req), "MPI_Barrier");
    wait(&req, 1, "broadcast", others());
  }
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
  MPI_Request req;
  check_mpi(MPI_Iallgather(in.data_ptr(), bytes, MPI_BYTE, out.data_ptr(), bytes, MPI_BYTE, comm_, &req),
            "MPI_Allgather");
  wait(&req, 1, "all_gather", others());
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
  MPI_Request req;
  post_send(c.data_ptr(), static_cast<int>(c.numel() * c.element_size()), dst, tag, &req, "MPI_Send");
  wait(&req, 1, "send", {world_rank_of(dst)});
}

void MpiCommunicator::recv(torch::Tensor& t, int src, int tag) {
  check_cpu_contiguous(t, "recv");
  Timed timed(stats_, 0);
  MPI_Request req;
  MPI_Status status;
  const int64_t bytes = t.numel() * t.element_size();
  check_mpi(MPI_Irecv(t.data_ptr(), static_cast<int>(bytes), MPI_BYTE, src, wire_tag(tag), comm_, &req), "MPI_Recv");
  wait(&req, 1, "recv", {world_rank_of(src)}, &status);
  check_received(status, bytes, "recv", src);
}

void MpiCommunicator::sendrecv(const torch::Tensor& send, int dst, torch::Tensor& recv, int src, int tag) {
  auto c = send.contiguous();
  check_cpu_contiguous(c, "sendrecv");
  check_cpu_contiguous(recv, "sendrecv");
  Timed timed(stats_, bytes_of(c));
  MPI_Request reqs[2];
  MPI_Status statuses[2];
  const int64_t recv_bytes = recv.numel() * recv.element_size();
  check_mpi(MPI_Irecv(recv.data_ptr(), static_cast<int>(recv_bytes), MPI_BYTE, src, wire_tag(tag), comm_, &reqs[0]),
            "MPI_Sendrecv");
  post_send(c.data_ptr(), static_cast<int>(c.numel() * c.element_size()), dst, tag, &reqs[1], "MPI_Sendrecv");
  wait(reqs, 2, "sendrecv", {world_rank_of(dst), world_rank_of(src)}, statuses);
  check_received(statuses[0], recv_bytes, "sendrecv", src);
}

void MpiCommunicator::barrier() {
  Timed timed(stats_, 0);
  MPI_Request req;
  check_mpi(MPI_Ibarrier(comm_, &req), "MPI_Barrier");
  wait(&req, 1, "barrier", others());
}

void MpiCommunicator::broadcast_bytes(std::string& bytes, int root) {
  if (size_ == 1) return;
  Timed timed(stats_, static_cast<int64_t>(bytes.size()));
  long long n = static_cast<long long>(bytes.size());
  MPI_Request req;
  check_mpi(MPI_Ibcast(&n, 1, MPI_LONG_LONG, root, comm_, &req), "MPI_Bcast(size)");
  wait(&req, 1, "broadcast_bytes", {world_rank_of(root)});
  bytes.resize(static_cast<size_t>(n));
  check_mpi(MPI_Ibcast(bytes.data(), static_cast<int>(n), MPI_BYTE, root, comm_, &req), "MPI_Bcast(bytes)");
  wait(&req, 1, "broadcast_bytes", {world_rank_of(root)});
}

double MpiCommunicator::all_reduce_scalar(double v, ReduceOp op) {
  double out = v;
  Timed timed(stats_, sizeof(double));
  MPI_Request req;
  check_mpi(MPI_Iallreduce(&v, &out, 1, MPI_DOUBLE, op == ReduceOp::Max ? MPI_MAX : MPI_SUM, comm_, &req),
            "MPI_Allreduce(scalar)");
  wait(&req, 1, "all_reduce_scalar", others());
  return op == ReduceOp::Avg ? out / size_ : out;
}

std::shared_ptr<Communicator> MpiCommunicator::split(int color, int key) {
  MPI_Comm sub;
  check_mpi(MPI_Comm_split(comm_, color, key, &sub), "MPI_Comm_split");
  return std::make_shared<MpiCommunicator>(sub);
}

}  // namespace ptuner::dist
