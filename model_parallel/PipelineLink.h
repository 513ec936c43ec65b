#pragma once
// One pipeline stage's point-to-point exchanges with its neighbours (the stages before and after
// it at the same TP and DP position), for training and evaluation alike. The tensors crossing a
// boundary go as one flat buffer per message; the receiver knows their shapes from the
// micro-batch it already holds (PipelineStage::boundary_shapes), so no shape travels. The paired
// exchanges of 1F1B (send forward + receive backward, and the reverse) are one sendrecv, so two
// stages never wait on each other's sends. Receive buffers take `options` (the dtype and device
// of the activations); sends go out in the tensors' own. At the ends of the pipeline the
// exchanges with the missing neighbour do nothing and receive nothing.
#include <ATen/core/Tensor.h>

#include <vector>

#include "dist/ParallelState.h"
#include "model_parallel/PipelineObserver.h"

namespace ptuner::mp {

using Shapes = std::vector<std::vector<int64_t>>;

class PipelineLink {
 public:
  // tag: keeps training and evaluation messages apart.
  PipelineLink(const dist::ParallelState& ps, at::TensorOptions options, int tag);

  bool has_prev() const { return !ps_->is_first_stage(); }
  bool has_next() const { return !ps_->is_last_stage(); }
  int64_t stages_after() const { return ps_->pp_size() - ps_->pp_rank() - 1; }

  std::vector<at::Tensor> recv_prev(const Shapes& shapes);
  void send_next(const std::vector<at::Tensor>& tensors);
  std::vector<at::Tensor> recv_next(const Shapes& shapes);
  void send_prev(const std::vector<at::Tensor>& tensors);
  // Send to the next stage and receive from it at once (its gradients for earlier outputs).
  std::vector<at::Tensor> send_next_recv_next(const std::vector<at::Tensor>& tensors, const Shapes& shapes);
  // Send to the previous stage and receive from it at once (its next outputs).
  std::vector<at::Tensor> send_prev_recv_prev(const std::vector<at::Tensor>& tensors, const Shapes& shapes);

  // Exchanges are announced to this observer (P2P events), when set.
  void set_observer(PipelineObserver* observer) { observer_ = observer; }
  const at::TensorOptions& options() const { return options_; }

 private:
  // Sends *send (if given) to and/or receives *recv's shapes (if given) from world rank peer.
  std::vector<at::Tensor> exchange(int peer, const std::vector<at::Tensor>* send, const Shapes* recv);

  const dist::ParallelState* ps_;
  at::TensorOptions options_;
  int tag_;
  PipelineObserver* observer_ = nullptr;
};

}  // namespace ptuner::mp
