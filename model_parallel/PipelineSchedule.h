#pragma once
// Pipeline schedules as functions (as Megatron's forward_backward functions): they take the
// number of micro-batches, the stage's p2p link and a StageStep (the stage's forward over one
// micro-batch, and the shapes crossing its boundaries), and run every forward and backward of
// one flush in their order. They know no prompt, no loss normaliser and no timer: the step
// callback builds whatever the stage injects and scales its loss; timing reaches a bench
// through the observer.
//   gpipe  all forwards, then all backwards
//   1f1b   a warm-up of (pp − stage − 1) forwards, then one forward / one backward, then the
//          remaining backwards (Megatron's non-interleaved order): at most pp − stage
//          micro-batches' activations are alive at once instead of all m.
// Backward: on the last stage the step's loss is back-propagated; elsewhere the outputs with the
// next stage's gradients. Gradients accumulate in the .grad() of whatever the step's forward
// made trainable (the prompt method's parameters); the frozen weights receive none. At pp = 1
// both schedules are forward + backward per micro-batch, and the link exchanges nothing.
#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <vector>

#include "model_parallel/PipelineLink.h"
#include "model_parallel/PipelineObserver.h"

namespace ptuner::mp {

struct StageStep {
  // Shapes micro-batch i receives from the previous stage / sends to the next ({} at the ends).
  std::function<Shapes(int64_t)> input_shapes;
  std::function<Shapes(int64_t)> output_shapes;
  // Forward of micro-batch i from the previous stage's tensors (marked as requiring grad): the
  // tensors for the next stage, or on the last stage {loss}, the scalar to back-propagate.
  std::function<std::vector<at::Tensor>(int64_t, const std::vector<at::Tensor>&)> forward;
};

using Schedule = void (*)(int64_t micro_batches, PipelineLink& link, const StageStep& step,
                          PipelineObserver* observer);

void gpipe(int64_t micro_batches, PipelineLink& link, const StageStep& step, PipelineObserver* observer);
void one_f_one_b(int64_t micro_batches, PipelineLink& link, const StageStep& step, PipelineObserver* observer);

// "1f1b" or "gpipe"; any other name is an error naming it (parallel.schedule).
Schedule schedule_named(const std::string& name);

}  // namespace ptuner::mp
