#include "model_parallel/PipelineLink.h"

#include <ATen/ATen.h>

namespace ptuner::mp {

namespace {

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (auto x : shape) n *= x;
  return n;
}

at::Tensor pack(const std::vector<at::Tensor>& ts) {
  std::vector<at::Tensor> flat;
  for (const auto& t : ts) flat.push_back(t.detach().reshape({-1}));
  return at::cat(flat).contiguous();
}

std::vector<at::Tensor> unpack(const at::Tensor& buf, const Shapes& shapes) {
  std::vector<at::Tensor> out;
  int64_t at = 0;
  for (const auto& s : shapes) {
    out.push_back(buf.narrow(0, at, numel(s)).view(s).clone());
    at += numel(s);
  }
  return out;
}

at::Tensor buffer_for(const Shapes& shapes, const at::TensorOptions& options) {
  int64_t n = 0;
  for (const auto& s : shapes) n += numel(s);
  return at::empty({n}, options);
}

}  // namespace

PipelineLink::PipelineLink(const dist::ParallelState& ps, at::TensorOptions options, int tag)
    : ps_(&ps), options_(options), tag_(tag) {}

// peer: a neighbour's world rank, or -1 at the end of the pipeline (nothing is exchanged).
std::vector<at::Tensor> PipelineLink::exchange(int peer, const std::vector<at::Tensor>* send, const Shapes* recv) {
  if (peer < 0) return {};
  ObservedScope scope(observer_, PipelineEvent::P2P);
  if (!recv) {
    ps_->world().send(pack(*send), peer, tag_);
    return {};
  }
  auto buf = buffer_for(*recv, options_);
  if (send)
    ps_->world().sendrecv(pack(*send), peer, buf, peer, tag_);
  else
    ps_->world().recv(buf, peer, tag_);
  return unpack(buf, *recv);
}

std::vector<at::Tensor> PipelineLink::recv_prev(const Shapes& shapes) { return exchange(ps_->prev_rank(), nullptr, &shapes); }

void PipelineLink::send_next(const std::vector<at::Tensor>& tensors) { exchange(ps_->next_rank(), &tensors, nullptr); }

std::vector<at::Tensor> PipelineLink::recv_next(const Shapes& shapes) { return exchange(ps_->next_rank(), nullptr, &shapes); }

void PipelineLink::send_prev(const std::vector<at::Tensor>& tensors) { exchange(ps_->prev_rank(), &tensors, nullptr); }

std::vector<at::Tensor> PipelineLink::send_next_recv_next(const std::vector<at::Tensor>& tensors,
                                                          const Shapes& shapes) {
  return exchange(ps_->next_rank(), &tensors, &shapes);
}

std::vector<at::Tensor> PipelineLink::send_prev_recv_prev(const std::vector<at::Tensor>& tensors,
                                                          const Shapes& shapes) {
  return exchange(ps_->prev_rank(), &tensors, &shapes);
}

}  // namespace ptuner::mp
