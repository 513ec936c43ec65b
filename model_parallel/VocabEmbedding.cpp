#include "model_parallel/VocabEmbedding.h"

#include "dist/Check.h"
#include "model_parallel/TensorParallelOps.h"

namespace ptuner::mp {

VocabEmbeddingImpl::VocabEmbeddingImpl(int64_t vocab_size, int64_t d_model, dist::Communicator& tp) : tp_(&tp) {
  PTUNER_CHECK(vocab_size % tp.size() == 0, "vocab_size {} is not divisible by tp={}", vocab_size, tp.size());
  const int64_t rows = vocab_size / tp.size();
  begin_ = tp.rank() * rows;
  weight = register_parameter("weight", torch::empty({rows, d_model}), /*requires_grad=*/false);
}

torch::Tensor VocabEmbeddingImpl::forward(const torch::Tensor& ids) {
  if (tp_->size() == 1) return torch::embedding(weight, ids);
  auto outside = (ids < begin_).logical_or(ids >= vocab_end());
  auto local = (ids - begin_).masked_fill(outside, 0);
  auto out = torch::embedding(weight, local).masked_fill(outside.unsqueeze(-1), 0.0);
  return reduce_from_tp(out, *tp_);
}

}  // namespace ptuner::mp
