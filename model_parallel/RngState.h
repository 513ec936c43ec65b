#pragma once
// The default CPU generator's state (dropout, prompt sampling): saved in checkpoints and replayed
// by activation recomputation.
#include <torch/torch.h>

namespace ptuner::mp {

torch::Tensor cpu_rng_state();
void set_cpu_rng_state(const torch::Tensor& state);

}  // namespace ptuner::mp
