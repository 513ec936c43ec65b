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

std::vector<at::Tensor> PipelineLink::recv_prev(const Shapes& shapes) {
  if (!has_prev()) return {};
  ObservedScope scope(observer_, PipelineEvent::P2P);
  auto buf = buffer_for(shapes, options_);
  ps_->world().recv(buf, ps_->prev_rank(), tag_);
  return unpack(buf, shapes);
}

void PipelineLink::send_next(const std::vector<at::Tensor>& tensors) {
  if (!has_next()) return;
  ObservedScope scope(observer_, PipelineEvent::P2P);
  ps_->world().send(pack(tensors), ps_->next_rank(), tag_);
}

std::vector<at::Tensor> PipelineLink::recv_next(const Shapes& shapes) {
  if (!has_next()) return {};
  ObservedScope scope(observer_, PipelineEvent::P2P);
  auto buf = buffer_for(shapes, options_);
  ps_->world().recv(buf, ps_->next_rank(), tag_);
  return unpack(buf, shapes);
}

void PipelineLink::send_prev(const std::vector<at::Tensor>& tensors) {
  if (!has_prev()) return;
  ObservedScope scope(observer_, PipelineEvent::P2P);
  ps_->world().send(pack(tensors), ps_->prev_rank(), tag_);
}

std::vector<at::Tensor> PipelineLink::send_next_recv_next(const std::vector<at::Tensor>& tensors,
                                                          const Shapes& shapes) {
  if (!has_next()) return {};
  ObservedScope scope(observer_, PipelineEvent::P2P);
  auto buf = buffer_for(shapes, options_);
  ps_->world().sendrecv(pack(tensors), ps_->next_rank(), buf, ps_->next_rank(), tag_);
  return unpack(buf, shapes);
}

std::vector<at::Tensor> PipelineLink::send_prev_recv_prev(const std::vector<at::Tensor>& tensors,
                                                          const Shapes& shapes) {
  if (!has_prev()) return {};
  ObservedScope scope(observer_, PipelineEvent::P2P);
  auto buf = buffer_for(shapes, options_);
  ps_->world().sendrecv(pack(tensors), ps_->prev_rank(), buf, ps_->prev_rank(), tag_);
  return unpack(buf, shapes);
}

}  // namespace ptuner::mp
