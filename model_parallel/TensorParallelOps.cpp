#include "model_parallel/TensorParallelOps.h"

#include "dist/Check.h"

namespace ptuner::mp {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

namespace {

dist::Communicator* comm_of(AutogradContext* ctx) {
  return reinterpret_cast<dist::Communicator*>(ctx->saved_data["comm"].toInt());
}

torch::Tensor all_reduced(const torch::Tensor& x, dist::Communicator& tp) {
  auto y = x.contiguous().clone();
  tp.all_reduce(y, dist::ReduceOp::Sum);
  return y;
}

// x: [..., n] -> [..., n·tp], ranks in order along the last dimension.
torch::Tensor gathered_last(const torch::Tensor& x, dist::Communicator& tp) {
  auto moved = x.movedim(-1, 0).contiguous();                // [n, ...]
  return tp.all_gather(moved).movedim(0, -1).contiguous();   // [n·tp, ...] -> [..., n·tp]
}

torch::Tensor own_slice_last(const torch::Tensor& x, dist::Communicator& tp) {
  const int64_t n = x.size(-1);
  PTUNER_CHECK(n % tp.size() == 0, "scatter_to_tp: last dimension {} is not divisible by tp={}", n, tp.size());
  return x.chunk(tp.size(), -1)[tp.rank()].contiguous();
}

struct CopyToTp : torch::autograd::Function<CopyToTp> {
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor x, int64_t comm) {
    ctx->saved_data["comm"] = comm;
    return x.view_as(x);
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list g) {
    return {all_reduced(g[0], *comm_of(ctx)), torch::Tensor()};
  }
};

struct ReduceFromTp : torch::autograd::Function<ReduceFromTp> {
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor x, int64_t comm) {
    return all_reduced(x, *reinterpret_cast<dist::Communicator*>(comm));
  }
  static tensor_list backward(AutogradContext*, tensor_list g) { return {g[0], torch::Tensor()}; }
};

struct GatherFromTp : torch::autograd::Function<GatherFromTp> {
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor x, int64_t comm) {
    ctx->saved_data["comm"] = comm;
    return gathered_last(x, *reinterpret_cast<dist::Communicator*>(comm));
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list g) {
    return {own_slice_last(g[0], *comm_of(ctx)), torch::Tensor()};
  }
};

struct ScatterToTp : torch::autograd::Function<ScatterToTp> {
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor x, int64_t comm) {
    ctx->saved_data["comm"] = comm;
    return own_slice_last(x, *reinterpret_cast<dist::Communicator*>(comm));
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list g) {
    return {gathered_last(g[0], *comm_of(ctx)), torch::Tensor()};
  }
};

int64_t handle(dist::Communicator& tp) { return reinterpret_cast<int64_t>(&tp); }

}  // namespace

torch::Tensor copy_to_tp(const torch::Tensor& x, dist::Communicator& tp) {
  return tp.size() == 1 ? x : CopyToTp::apply(x, handle(tp));
}
torch::Tensor reduce_from_tp(const torch::Tensor& x, dist::Communicator& tp) {
  return tp.size() == 1 ? x : ReduceFromTp::apply(x, handle(tp));
}
torch::Tensor gather_from_tp(const torch::Tensor& x, dist::Communicator& tp) {
  return tp.size() == 1 ? x : GatherFromTp::apply(x, handle(tp));
}
torch::Tensor scatter_to_tp(const torch::Tensor& x, dist::Communicator& tp) {
  return tp.size() == 1 ? x : ScatterToTp::apply(x, handle(tp));
}

}  // namespace ptuner::mp
