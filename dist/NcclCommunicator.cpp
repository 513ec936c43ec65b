#include "dist/NcclCommunicator.h"

#include "dist/DeviceChoice.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <cstring>
#include <cstdlib>
#include <thread>

#include "dist/Check.h"

namespace ptuner::dist {

struct NcclState {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
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

NcclCommunicator::NcclCommunicator(std::shared_ptr<MpiCommunicator> mpi, double timeout_s)
    : mpi_(std::move(mpi)), state_(std::make_unique<NcclState>()), timeout_s_(timeout_s) {
  ncclUniqueId id;
  if (mpi_->rank() == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
  std::string bytes(reinterpret_cast<const char*>(&id), sizeof(id));
  mpi_->broadcast_bytes(bytes, 0);
  std::memcpy(&id, bytes.data(), sizeof(id));
  check_cuda(cudaStreamCreateWithFlags(&state_->stream, cudaStreamNonBlocking), "cudaStreamCreate");
  check_nccl(ncclCommInitRank(&state_->comm, mpi_->size(), id, mpi_->rank()), "ncclCommInitRank");
}

NcclCommunicator::~NcclCommunicator() {
  if (state_->comm) ncclCommDestroy(state_->comm);
  if (state_->stream) cudaStreamDestroy(state_->stream);
}

std::shared_ptr<NcclCommunicator> NcclCommunicator::world(double timeout_s) {
  const int devices = device_count();
  PTUNER_CHECK(devices > 0, "the NCCL backend needs a CUDA device, and this process sees none");
  check_cuda(cudaSetDevice(node_local_rank() % devices), "cudaSetDevice");
  return std::make_shared<NcclCommunicator>(MpiCommunicator::world(), timeout_s);
}

void NcclCommunicator::wait(const char* what) {
  // Work on the caller's (legacy default) stream happens before ours and vice versa.
  const auto start = std::chrono::steady_clock::now();
  while (true) {
    cudaError_t q = cudaStreamQuery(state_->stream);
    if (q == cudaSuccess) return;
    PTUNER_CHECK(q == cudaErrorNotReady, "NCCL {}: stream failed: {}", what, cudaGetErrorString(q));
    ncclResult_t async = ncclSuccess;
    check_nccl(ncclCommGetAsyncError(state_->comm, &async), "ncclCommGetAsyncError");
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (async != ncclSuccess || waited > timeout_s_) {
      ncclCommAbort(state_->comm);
      state_->comm = nullptr;
      PTUNER_FAIL("NCCL {} on rank {} of {}: {} (communicator aborted)", what, mpi_->rank(), mpi_->size(),
                  async != ncclSuccess ? ncclGetErrorString(async)
                                       : fmt::format("no progress in {} s: a peer is gone or stuck", timeout_s_));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

void NcclCommunicator::all_reduce(torch::Tensor& t, ReduceOp op) {
  check_cuda_tensor(t, "all_reduce");
  check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");  // inputs written on other streams
  check_nccl(ncclAllReduce(t.data_ptr(), t.data_ptr(), t.numel(), nccl_type(t.scalar_type()), nccl_op(op),
                           state_->comm, state_->stream),
             "ncclAllReduce");
  wait("all_reduce");
}

void NcclCommunicator::broadcast(torch::Tensor& t, int root) {
  check_cuda_tensor(t, "broadcast");
  check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  check_nccl(ncclBroadcast(t.data_ptr(), t.data_ptr(), t.numel(), nccl_type(t.scalar_type()), root, state_->comm,
                           state_->stream),
             "ncclBroadcast");
  wait("broadcast");
}

torch::Tensor NcclCommunicator::all_gather(const torch::Tensor& x) {
  auto in = x.contiguous();
  check_cuda_tensor(in, "all_gather");
  std::vector<int64_t> shape(in.sizes().begin(), in.sizes().end());
  PTUNER_CHECK(!shape.empty(), "all_gather needs a tensor with at least one dimension");
  shape[0] *= size();
  auto out = torch::empty(shape, in.options());
  check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  check_nccl(ncclAllGather(in.data_ptr(), out.data_ptr(), in.numel(), nccl_type(in.scalar_type()), state_->comm,
                           state_->stream),
             "ncclAllGather");
  wait("all_gather");
  return out;
}

torch::Tensor NcclCommunicator::reduce_scatter(const torch::Tensor& x) {
  auto in = x.contiguous();
  check_cuda_tensor(in, "reduce_scatter");
  PTUNER_CHECK(in.dim() >= 1 && in.size(0) % size() == 0,
               "reduce_scatter: leading dimension {} is not divisible by group size {}", in.dim() ? in.size(0) : 0,
               size());
  std::vector<int64_t> shape(in.sizes().begin(), in.sizes().end());
  shape[0] /= size();
  auto out = torch::empty(shape, in.options());
  check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  check_nccl(ncclReduceScatter(in.data_ptr(), out.data_ptr(), out.numel(), nccl_type(in.scalar_type()), ncclSum,
                               state_->comm, state_->stream),
             "ncclReduceScatter");
  wait("reduce_scatter");
  return out;
}

void NcclCommunicator::send(const torch::Tensor& t, int dst, int) {
  auto c = t.contiguous();
  check_cuda_tensor(c, "send");
  check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  check_nccl(ncclSend(c.data_ptr(), c.numel(), nccl_type(c.scalar_type()), dst, state_->comm, state_->stream),
             "ncclSend");
  wait("send");
}

void NcclCommunicator::recv(torch::Tensor& t, int src, int) {
  check_cuda_tensor(t, "recv");
  check_nccl(ncclRecv(t.data_ptr(), t.numel(), nccl_type(t.scalar_type()), src, state_->comm, state_->stream),
             "ncclRecv");
  wait("recv");
}

void NcclCommunicator::sendrecv(const torch::Tensor& send, int dst, torch::Tensor& recv, int src, int) {
  auto c = send.contiguous();
  check_cuda_tensor(c, "sendrecv");
  check_cuda_tensor(recv, "sendrecv");
  check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  check_nccl(ncclGroupStart(), "ncclGroupStart");
  check_nccl(ncclSend(c.data_ptr(), c.numel(), nccl_type(c.scalar_type()), dst, state_->comm, state_->stream),
             "ncclSend");
  check_nccl(ncclRecv(recv.data_ptr(), recv.numel(), nccl_type(recv.scalar_type()), src, state_->comm,
                      state_->stream),
             "ncclRecv");
  check_nccl(ncclGroupEnd(), "ncclGroupEnd");
  wait("sendrecv");
}

void NcclCommunicator::barrier() {
  // A one-element all-reduce on the device orders the GPUs as well as the hosts.
  void* one = nullptr;
  check_cuda(cudaMalloc(&one, sizeof(float)), "cudaMalloc");
  check_nccl(ncclAllReduce(one, one, 1, ncclFloat32, ncclSum, state_->comm, state_->stream), "ncclAllReduce");
  wait("barrier");
  cudaFree(one);
}

std::shared_ptr<Communicator> NcclCommunicator::split(int color, int key) {
  auto sub = std::dynamic_pointer_cast<MpiCommunicator>(mpi_->split(color, key));
  return std::make_shared<NcclCommunicator>(sub, timeout_s_);
}

}  // namespace ptuner::dist
