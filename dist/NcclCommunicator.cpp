#include "dist/NcclCommunicator.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "dist/Check.h"

namespace ptuner::dist {

// The stream LibTorch computes on (see the header).
const cudaStream_t kComputeStream = cudaStreamLegacy;

struct NcclState {
  struct Pending {
    cudaEvent_t done;
    std::chrono::steady_clock::time_point since;  // enqueued, or when the call before it finished
    const char* what;
  };
  ncclComm_t comm = nullptr;
  int device = 0;
  int world_rank = 0;
  std::mutex mutex;               // guards pending and free_events
  std::deque<Pending> pending;    // enqueued calls, oldest first
  std::vector<cudaEvent_t> free_events;
  // An NCCL call the host is inside (a call may block there, e.g. connecting to a lost peer):
  // since when (steady-clock nanoseconds, 0: none) and which.
  std::atomic<int64_t> host_call_since{0};
  std::atomic<const char*> host_call_what{nullptr};
  std::atomic<bool> stop{false};
  std::thread watchdog;
  std::string group = "world";  // the group's name for messages (guarded by mutex)
  // Each enqueued call's device time (its start and end marks on the compute stream), for the
  // statistics; touched by the calling thread only.
  struct Timed {
    cudaEvent_t start, end;
  };
  std::deque<Timed> timed;
  std::vector<cudaEvent_t> free_timing;
  double seconds = 0;
  int64_t calls = 0, bytes = 0;
};

namespace {

void check_cuda(cudaError_t e, const char* what) {
  PTUNER_CHECK(e == cudaSuccess, "CUDA call {} failed: {}", what, cudaGetErrorString(e));
}

void check_nccl(ncclResult_t r, const char* what) {
  PTUNER_CHECK(r == ncclSuccess || r == ncclInProgress, "NCCL call {} failed: {}", what, ncclGetErrorString(r));
}

ncclDataType_t nccl_type(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return ncclFloat32;
    case torch::kFloat64: return ncclFloat64;
    case torch::kBFloat16: return ncclBfloat16;
    case torch::kFloat16: return ncclFloat16;
    case torch::kInt64: return ncclInt64;
    case torch::kInt32: return ncclInt32;
    case torch::kUInt8: return ncclUint8;
    default: PTUNER_FAIL("NcclCommunicator: no NCCL type for tensor dtype {}", c10::toString(t));
  }
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return ncclSum;
    case ReduceOp::Avg: return ncclAvg;
    case ReduceOp::Max: return ncclMax;
  }
  return ncclSum;
}

// Adds the device time of every timed call that has finished to the state's seconds.
void resolve_timing(NcclState& s) {
  while (!s.timed.empty()) {
    const auto& t = s.timed.front();
    const cudaError_t q = cudaEventQuery(t.end);
    if (q == cudaErrorNotReady) {
      (void)cudaGetLastError();  // a query's "not ready" must not reach LibTorch's next launch check
      break;
    }
    check_cuda(q, "cudaEventQuery");
    float ms = 0;
    check_cuda(cudaEventElapsedTime(&ms, t.start, t.end), "cudaEventElapsedTime");
    s.seconds += ms / 1e3;
    s.free_timing.push_back(t.start);
    s.free_timing.push_back(t.end);
    s.timed.pop_front();
  }
}

cudaEvent_t timing_event(NcclState& s) {
  cudaEvent_t e = nullptr;
  if (s.free_timing.empty()) {
    check_cuda(cudaEventCreate(&e), "cudaEventCreate");
  } else {
    e = s.free_timing.back();
    s.free_timing.pop_back();
  }
  check_cuda(cudaEventRecord(e, kComputeStream), "cudaEventRecord");
  return e;
}

void check_cuda_tensor(const torch::Tensor& t, const char* what) {
  PTUNER_CHECK(t.device().is_cuda(), "NcclCommunicator::{}: tensor is on {}, the NCCL backend takes CUDA tensors",
               what, t.device().str());
  PTUNER_CHECK(t.is_contiguous(), "NcclCommunicator::{}: tensor must be contiguous", what);
}

}  // namespace

int NcclCommunicator::device_count() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}

NcclCommunicator::NcclCommunicator(std::shared_ptr<MpiCommunicator> mpi)
    : mpi_(std::move(mpi)), state_(std::make_unique<NcclState>()) {
  ncclUniqueId id;
  if (mpi_->rank() == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
  std::string bytes(reinterpret_cast<const char*>(&id), sizeof(id));
  mpi_->broadcast_bytes(bytes, 0);
  std::memcpy(&id, bytes.data(), sizeof(id));
  check_cuda(cudaGetDevice(&state_->device), "cudaGetDevice");
  check_nccl(ncclCommInitRank(&state_->comm, mpi_->size(), id, mpi_->rank()), "ncclCommInitRank");
  MPI_Comm_rank(MPI_COMM_WORLD, &state_->world_rank);
  state_->group = mpi_->name();
  state_->watchdog = std::thread([state = state_.get(), rank = mpi_->rank(), size = mpi_->size()] {
    using Clock = std::chrono::steady_clock;
    const auto seconds_since = [](Clock::time_point t) {
      return std::chrono::duration<double>(Clock::now() - t).count();
    };
    cudaSetDevice(state->device);
    while (!state->stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      const double limit = MpiCommunicator::timeout();
      std::string failure;
      {
        std::lock_guard<std::mutex> lock(state->mutex);
        const std::string& group = state->group;
        bool popped = false;
        while (!state->pending.empty()) {
          const auto& front = state->pending.front();
          const cudaError_t q = cudaEventQuery(front.done);
          if (q == cudaErrorNotReady) break;
          if (q != cudaSuccess) {  // a sticky device error: no later call can finish either
            failure = fmt::format("the device failed after NCCL {} on the {} group (rank {} of {}): {}", front.what,
                                  group, rank, size, cudaGetErrorString(q));
            break;
          }
          state->free_events.push_back(front.done);
          state->pending.pop_front();
          popped = true;
        }
        // The next call's wait starts when the one before it finished, not when it was queued
        // behind a step's compute: a long step is not a hang.
        if (popped && !state->pending.empty())
          state->pending.front().since = std::max(state->pending.front().since, Clock::now());
        ncclResult_t async = ncclSuccess;
        if (failure.empty() && state->comm) ncclCommGetAsyncError(state->comm, &async);
        const int64_t host_since = state->host_call_since.load();
        const double host_waited =
            host_since > 0 ? seconds_since(Clock::time_point(Clock::duration(host_since))) : 0.0;
        const double waited = state->pending.empty() ? 0.0 : seconds_since(state->pending.front().since);
        const char* what = state->pending.empty() ? state->host_call_what.load() : state->pending.front().what;
        if (!failure.empty()) {
        } else if (async != ncclSuccess) {
          failure = fmt::format("NCCL {} on the {} group (rank {} of {}) failed: {}", what ? what : "call", group, rank,
                                size, ncclGetErrorString(async));
        } else if (limit > 0 && std::max(waited, host_waited) > limit) {
          if (host_waited > waited) what = state->host_call_what.load();
          failure = fmt::format("NCCL {} on the {} group (rank {} of {}) has not finished after {:.0f} s "
                                "(dist.timeout_s = {}): a rank stopped, hung or was lost",
                                what ? what : "call", group, rank, size, std::max(waited, host_waited), limit);
        }
      }
      if (failure.empty()) continue;
      spdlog::error("rank {}: {}; aborting the communicator and the job", state->world_rank, failure);
      spdlog::default_logger()->flush();
      std::fflush(stderr);
      ncclCommAbort(state->comm);  // unblocks this rank's kernels waiting on the lost peer
      // From this thread although MPI runs FUNNELED: Open MPI's MPI_Abort only signals the
      // launcher, which ends every rank, as the MPI path's watchdog does.
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  });
}

NcclCommunicator::~NcclCommunicator() {
  state_->stop.store(true);
  if (state_->watchdog.joinable()) state_->watchdog.join();
  // Destroying waits for queued work, which peers may never match when this rank is unwinding
  // an error: abort then instead.
  bool unfinished = std::uncaught_exceptions() > 0;
  for (const auto& p : state_->pending) unfinished = unfinished || cudaEventQuery(p.done) != cudaSuccess;
  if (state_->comm) (unfinished ? ncclCommAbort : ncclCommDestroy)(state_->comm);
  for (const auto& p : state_->pending) cudaEventDestroy(p.done);
  for (auto e : state_->free_events) cudaEventDestroy(e);
  for (const auto& t : state_->timed) cudaEventDestroy(t.start), cudaEventDestroy(t.end);
  for (auto e : state_->free_timing) cudaEventDestroy(e);
}

void NcclCommunicator::set_name(const std::string& name) {
  Communicator::set_name(name);
  mpi_->set_name(name);
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->group = name;
}

CommStats NcclCommunicator::stats() const {
  resolve_timing(*state_);
  const auto host = mpi_->stats();
  return {host.seconds + state_->seconds, host.calls + state_->calls, host.bytes + state_->bytes};
}

NcclCommunicator::TimedCall::TimedCall(NcclState& state, int64_t bytes)
    : state_(state), bytes_(bytes), start_(timing_event(state)) {}

NcclCommunicator::TimedCall::~TimedCall() {
  // Recorded on the way out of an NCCL call that threw too: the pair stays well formed.
  // (A destructor does not throw: an event that cannot be made or recorded drops the sample.)
  cudaEvent_t end = nullptr;
  if (!state_.free_timing.empty()) {
    end = state_.free_timing.back();
    state_.free_timing.pop_back();
  } else if (cudaEventCreate(&end) != cudaSuccess) {
    state_.free_timing.push_back(start_);
    return;
  }
  if (cudaEventRecord(end, kComputeStream) != cudaSuccess) {
    state_.free_timing.push_back(start_);
    state_.free_timing.push_back(end);
    return;
  }
  state_.timed.push_back({start_, end});
  state_.calls += 1;
  state_.bytes += bytes_;
  if (state_.timed.size() > 4096) {  // a long run: recycle the finished ones as it goes
    try {
      resolve_timing(state_);
    } catch (const std::exception&) {  // a device error: the watchdog reports it
    }
  }
}

std::shared_ptr<NcclCommunicator> NcclCommunicator::world(int device_index) {
  const int devices = device_count();
  PTUNER_CHECK(devices > 0, "the NCCL backend needs a CUDA device, and this process sees none");
  PTUNER_CHECK(device_index >= 0 && device_index < devices, "CUDA device {} is not one of the {} this process sees",
               device_index, devices);
  check_cuda(cudaSetDevice(device_index), "cudaSetDevice");
  return std::make_shared<NcclCommunicator>(MpiCommunicator::world());
}

NcclCommunicator::HostCall::HostCall(NcclState& state, const char* what) : state_(state) {
  state_.host_call_what.store(what);
  state_.host_call_since.store(std::chrono::steady_clock::now().time_since_epoch().count());
}

NcclCommunicator::HostCall::~HostCall() { state_.host_call_since.store(0); }

void NcclCommunicator::enqueued(const char* what) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  cudaEvent_t e = nullptr;
  if (state_->free_events.empty()) {
    check_cuda(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "cudaEventCreate");
  } else {
    e = state_->free_events.back();
    state_->free_events.pop_back();
  }
  check_cuda(cudaEventRecord(e, kComputeStream), "cudaEventRecord");
  state_->pending.push_back({e, std::chrono::steady_clock::now(), what});
}

void NcclCommunicator::all_reduce(torch::Tensor& t, ReduceOp op) {
  if (t.device().is_cpu()) return mpi_->all_reduce(t, op);
  check_cuda_tensor(t, "all_reduce");
  const TimedCall timed(*state_, bytes_of(t));
  const HostCall call(*state_, "all_reduce");
  check_nccl(ncclAllReduce(t.data_ptr(), t.data_ptr(), t.numel(), nccl_type(t.scalar_type()), nccl_op(op),
                           state_->comm, kComputeStream),
             "ncclAllReduce");
  enqueued("all_reduce");
}

void NcclCommunicator::broadcast(torch::Tensor& t, int root) {
  if (t.device().is_cpu()) return mpi_->broadcast(t, root);
  check_cuda_tensor(t, "broadcast");
  const TimedCall timed(*state_, bytes_of(t));
  const HostCall call(*state_, "broadcast");
  check_nccl(ncclBroadcast(t.data_ptr(), t.data_ptr(), t.numel(), nccl_type(t.scalar_type()), root, state_->comm,
                           kComputeStream),
             "ncclBroadcast");
  enqueued("broadcast");
}

torch::Tensor NcclCommunicator::all_gather(const torch::Tensor& x) {
  if (x.device().is_cpu()) return mpi_->all_gather(x);
  auto in = x.contiguous();
  check_cuda_tensor(in, "all_gather");
  std::vector<int64_t> shape(in.sizes().begin(), in.sizes().end());
  PTUNER_CHECK(!shape.empty(), "all_gather needs a tensor with at least one dimension");
  shape[0] *= size();
  auto out = torch::empty(shape, in.options());
  const TimedCall timed(*state_, bytes_of(in));
  const HostCall call(*state_, "all_gather");
  check_nccl(ncclAllGather(in.data_ptr(), out.data_ptr(), in.numel(), nccl_type(in.scalar_type()), state_->comm,
                           kComputeStream),
             "ncclAllGather");
  enqueued("all_gather");
  return out;
}

torch::Tensor NcclCommunicator::reduce_scatter(const torch::Tensor& x) {
  if (x.device().is_cpu()) return mpi_->reduce_scatter(x);
  auto in = x.contiguous();
  check_cuda_tensor(in, "reduce_scatter");
  PTUNER_CHECK(in.dim() >= 1 && in.size(0) % size() == 0,
               "reduce_scatter: leading dimension {} is not divisible by group size {}", in.dim() ? in.size(0) : 0,
               size());
  std::vector<int64_t> shape(in.sizes().begin(), in.sizes().end());
  shape[0] /= size();
  auto out = torch::empty(shape, in.options());
  const TimedCall timed(*state_, bytes_of(in));
  const HostCall call(*state_, "reduce_scatter");
  check_nccl(ncclReduceScatter(in.data_ptr(), out.data_ptr(), out.numel(), nccl_type(in.scalar_type()), ncclSum,
                               state_->comm, kComputeStream),
             "ncclReduceScatter");
  enqueued("reduce_scatter");
  return out;
}

void NcclCommunicator::send(const torch::Tensor& t, int dst, int tag) {
  if (t.device().is_cpu()) return mpi_->send(t, dst, tag);
  auto c = t.contiguous();
  check_cuda_tensor(c, "send");
  const TimedCall timed(*state_, bytes_of(c));
  const HostCall call(*state_, "send");
  check_nccl(ncclSend(c.data_ptr(), c.numel(), nccl_type(c.scalar_type()), dst, state_->comm, kComputeStream),
             "ncclSend");
  enqueued("send");
}

void NcclCommunicator::recv(torch::Tensor& t, int src, int tag) {
  if (t.device().is_cpu()) return mpi_->recv(t, src, tag);
  check_cuda_tensor(t, "recv");
  const TimedCall timed(*state_, 0);
  const HostCall call(*state_, "recv");
  check_nccl(ncclRecv(t.data_ptr(), t.numel(), nccl_type(t.scalar_type()), src, state_->comm, kComputeStream),
             "ncclRecv");
  enqueued("recv");
}

void NcclCommunicator::sendrecv(const torch::Tensor& send, int dst, torch::Tensor& recv, int src, int tag) {
  PTUNER_CHECK(send.device().is_cpu() == recv.device().is_cpu(),
               "NcclCommunicator::sendrecv: sends a tensor on {} and receives one on {} (both host or both device)",
               send.device().str(), recv.device().str());
  if (send.device().is_cpu()) return mpi_->sendrecv(send, dst, recv, src, tag);
  auto c = send.contiguous();
  check_cuda_tensor(c, "sendrecv");
  check_cuda_tensor(recv, "sendrecv");
  const TimedCall timed(*state_, bytes_of(c));
  const HostCall call(*state_, "sendrecv");
  check_nccl(ncclGroupStart(), "ncclGroupStart");
  check_nccl(ncclSend(c.data_ptr(), c.numel(), nccl_type(c.scalar_type()), dst, state_->comm, kComputeStream),
             "ncclSend");
  check_nccl(ncclRecv(recv.data_ptr(), recv.numel(), nccl_type(recv.scalar_type()), src, state_->comm,
                      kComputeStream),
             "ncclRecv");
  check_nccl(ncclGroupEnd(), "ncclGroupEnd");
  enqueued("sendrecv");
}

void NcclCommunicator::barrier() {
  // A one-element all-reduce on the compute stream (the caching allocator's memory), then the host
  // waits for it; the watchdog turns a lost peer into an error meanwhile.
  auto one = torch::zeros({1}, torch::TensorOptions().dtype(torch::kFloat32).device(torch::kCUDA, state_->device));
  {
    const HostCall call(*state_, "barrier");
    check_nccl(ncclAllReduce(one.data_ptr(), one.data_ptr(), 1, ncclFloat32, ncclSum, state_->comm, kComputeStream),
               "ncclAllReduce");
  }
  enqueued("barrier");
  check_cuda(cudaStreamSynchronize(kComputeStream), "cudaStreamSynchronize");
}

std::shared_ptr<Communicator> NcclCommunicator::split(int color, int key) {
  auto sub = std::dynamic_pointer_cast<MpiCommunicator>(mpi_->split(color, key));
  return std::make_shared<NcclCommunicator>(sub);
}

}  // namespace ptuner::dist
