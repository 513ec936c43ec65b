#pragma once
// Communication at the edges of a tensor-parallel region, as autograd functions (Megatron's
// f and g operators). Each is the identity when the TP group has one rank.
//   copy_to_tp:     forward identity,           backward all-reduce(sum)
//   reduce_from_tp: forward all-reduce(sum),    backward identity
//   gather_from_tp: forward all-gather last dim, backward take own slice
//   scatter_to_tp:  forward take own slice,      backward all-gather last dim
#include <torch/torch.h>

#include "dist/Communicator.h"

namespace ptuner::mp {

torch::Tensor copy_to_tp(const torch::Tensor& x, dist::Communicator& tp);
torch::Tensor reduce_from_tp(const torch::Tensor& x, dist::Communicator& tp);
torch::Tensor gather_from_tp(const torch::Tensor& x, dist::Communicator& tp);
torch::Tensor scatter_to_tp(const torch::Tensor& x, dist::Communicator& tp);

}  // namespace ptuner::mp
