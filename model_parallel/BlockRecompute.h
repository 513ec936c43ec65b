#pragma once
// Activation recomputation for one T5 block (LibTorch's C++ API has no checkpoint function).
// Forward runs the block without recording autograd state and keeps only its inputs (hidden
// state, encoder output, key/value prefixes) and the states of every generator it may draw
// from (RngState's policy); backward replays those states (so dropout draws the same masks),
// re-runs the block with autograd on, and back-propagates through it. Results equal the plain
// block's; memory per block drops to its inputs.
#include <torch/torch.h>

#include "model_parallel/PromptInjection.h"
#include "model_parallel/T5Block.h"

namespace ptuner::mp {

// As block(h, self_bias, enc, cross_bias, self_prefix, cross_prefix); the biases carry no
// gradient (frozen weights, masks); the prefixes' gradients flow back like h's.
torch::Tensor recomputed_block(T5Block& block, const torch::Tensor& h, const torch::Tensor& self_bias,
                               const torch::Tensor& enc, const torch::Tensor& cross_bias,
                               const KvPrefix* self_prefix = nullptr, const KvPrefix* cross_prefix = nullptr);

}  // namespace ptuner::mp
