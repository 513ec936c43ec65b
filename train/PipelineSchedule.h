#pragma once
// Forward and backward of a step's micro-batches through the pipeline.
//   gpipe  all forwards, then all backwards
//   1f1b   warm-up of (pp − stage − 1) forwards, then one forward / one backward, then the
//          remaining backwards (Megatron's non-interleaved order); activations of at most
//          pp − stage micro-batches are alive at once instead of all m.
// Neighbours exchange the boundary tensors of PipelineStage over the world communicator; the
// paired exchanges (send forward + receive backward, and the reverse) are fused so that two
// stages never wait on each other's sends. With pp = 1 both reduce to forward+backward per
// micro-batch. Gradients accumulate into the prompt's .grad() on the first stage.
#include <deque>
#include <string>
#include <vector>

#include "dist/ParallelState.h"
#include "model_parallel/PipelineStage.h"
#include "train/PromptMethod.h"

namespace ptuner::train {

// One forward ('F') or backward ('B') of a micro-batch on this stage, in execution order, with
// its wall time and the process CPU time it used (with one intra-op thread and no other busy
// thread in the process, the compute time the rank would take on a core of its own, whatever
// else shares the machine).
struct StageOp {
  char kind = 'F';
  int64_t micro = 0;
  double wall_s = 0, cpu_s = 0;
};

struct ScheduleSums {
  double ce = 0;     // Σ cross-entropy over the micro-batches (last stage; 0 elsewhere)
  double total = 0;  // with z-loss
};

class PipelineSchedule {
 public:
  PipelineSchedule(mp::PipelineStage& stage, const dist::ParallelState& ps, std::string kind);
  // Each micro-batch's loss is divided by `normaliser` (the step's global target tokens).
  ScheduleSums run(const std::vector<mp::MicroBatch>& micro, PromptMethod& prompt, double z_loss, double normaliser);
  // Seconds spent in point-to-point exchanges (waiting for neighbours included), cumulative.
  double p2p_seconds() const { return p2p_seconds_; }
  const std::string& kind() const { return kind_; }
  // The forwards and backwards of the last run(), in the order this stage executed them.
  const std::vector<StageOp>& ops() const { return ops_; }
  // Wall seconds of the last run(), from entering it to its last exchange.
  double run_seconds() const { return run_seconds_; }

 private:
  struct InFlight {
    const mp::MicroBatch* mb = nullptr;
    std::vector<torch::Tensor> inputs, outputs;
    torch::Tensor scaled_loss;
  };
  InFlight forward_step(const mp::MicroBatch& mb, std::vector<torch::Tensor> inputs);
  std::vector<torch::Tensor> backward_step(InFlight& f, const std::vector<torch::Tensor>& output_grads);

  std::vector<torch::Tensor> recv_forward(const mp::MicroBatch& mb);
  void send_forward(const std::vector<torch::Tensor>& outputs);
  std::vector<torch::Tensor> recv_backward(const mp::MicroBatch& mb);
  void send_backward(const std::vector<torch::Tensor>& input_grads);
  std::vector<torch::Tensor> send_forward_recv_backward(const std::vector<torch::Tensor>& outputs,
                                                        const mp::MicroBatch& waiting);
  std::vector<torch::Tensor> send_backward_recv_forward(const std::vector<torch::Tensor>& input_grads,
                                                        const mp::MicroBatch& next);

  int64_t micro_index(const mp::MicroBatch& mb) const { return &mb - micro_->data(); }

  mp::PipelineStage& stage_;
  const std::vector<mp::MicroBatch>* micro_ = nullptr;
  const dist::ParallelState& ps_;
  std::string kind_;
  PromptMethod* prompt_ = nullptr;
  double z_loss_ = 0, normaliser_ = 1;
  ScheduleSums sums_;
  double p2p_seconds_ = 0;
  double run_seconds_ = 0;
  std::vector<StageOp> ops_;
};

}  // namespace ptuner::train
