#pragma once
// Trainable state spread over the pipeline stages, brought to its global names: each stage
// contributes the named tensors it owns (prompt parameters, their optimizer slots) and every
// rank of the pipeline group gets the union, on the CPU. A name two stages both hold must carry
// the same value there (e.g. the optimizer's "step"). Collective over `pp`.
#include <torch/torch.h>

#include <map>
#include <string>

#include "dist/Communicator.h"

namespace ptuner::train {

std::map<std::string, torch::Tensor> gather_over_stages(const std::map<std::string, torch::Tensor>& mine,
                                                        dist::Communicator& pp);

// Named tensors <-> bytes (name, dtype, shape, data), for moving them between ranks.
std::string pack_named(const std::map<std::string, torch::Tensor>& tensors);
std::map<std::string, torch::Tensor> unpack_named(const std::string& bytes);

}  // namespace ptuner::train
