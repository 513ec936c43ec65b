#include "model_parallel/CrossEntropy.h"

#include <fmt/ranges.h>

#include "dist/Check.h"
#include "model_parallel/TensorParallelOps.h"

namespace ptuner::mp {

namespace {

// Σ over ranks whose gradient is the identity: the loss is replicated over TP, so each rank's
// local terms receive the full upstream gradient (Megatron's reduce-from-region).
torch::Tensor sum_over_tp(const torch::Tensor& x, dist::Communicator* tp) {
  return tp ? reduce_from_tp(x, *tp) : x;
}

LossSums sums(const torch::Tensor& logits, const torch::Tensor& labels, double z_loss, dist::Communicator* tp,
              int64_t vocab_begin) {
  PTUNER_CHECK(logits.dim() == 3 && labels.dim() == 2 && logits.size(0) == labels.size(0) &&
                   logits.size(1) == labels.size(1),
               "cross_entropy: logits {} and labels {} do not match", fmt::join(logits.sizes(), "x"),
               fmt::join(labels.sizes(), "x"));
  const int64_t v_local = logits.size(-1);
  auto flat = logits.to(torch::kFloat32).reshape({-1, v_local});  // [N, V/tp]
  auto y = labels.reshape({-1});
  auto valid = y != kIgnoreIndex;
  // Global max per token, a constant for the gradient (lse does not depend on it).
  auto max = std::get<0>(flat.detach().max(-1)).contiguous();
  if (tp && tp->size() > 1) tp->all_reduce(max, dist::ReduceOp::Max);
  auto sum_exp = sum_over_tp((flat - max.unsqueeze(1)).exp().sum(-1), tp);
  auto lse = sum_exp.log() + max;  // [N]
  // The label's logit lives on exactly one rank; the others contribute 0.
  auto local = y - vocab_begin;
  auto mine = valid.logical_and(local >= 0).logical_and(local < v_local);
  auto index = local.masked_fill(mine.logical_not(), 0).unsqueeze(1);
  auto picked = sum_over_tp(flat.gather(1, index).squeeze(1).masked_fill(mine.logical_not(), 0.0), tp);
  auto w = valid.to(torch::kFloat32);
  auto ce = (lse - picked) * w;
  LossSums out;
  out.ce = ce.sum().detach();
  out.ce_per_row = ce.detach().view({labels.size(0), labels.size(1)}).sum(1);
  out.total = z_loss > 0 ? (ce + z_loss * lse.pow(2) * w).sum() : ce.sum();
  out.tokens = valid.sum();
  return out;
}

}  // namespace

LossSums cross_entropy_sums(const torch::Tensor& logits, const torch::Tensor& labels, double z_loss,
                            dist::Communicator& tp, int64_t vocab_begin) {
  return sums(logits, labels, z_loss, &tp, vocab_begin);
}

LossSums cross_entropy_sums(const torch::Tensor& logits, const torch::Tensor& labels, double z_loss) {
  return sums(logits, labels, z_loss, nullptr, 0);
}

torch::Tensor shift_right(const torch::Tensor& labels, int64_t start, int64_t pad) {
  auto out = torch::empty_like(labels);
  out.index_put_({torch::indexing::Slice(), 0}, start);
  out.index_put_({torch::indexing::Slice(), torch::indexing::Slice(1, torch::indexing::None)},
                 labels.index({torch::indexing::Slice(), torch::indexing::Slice(torch::indexing::None, -1)}));
  return out.masked_fill(out == kIgnoreIndex, pad);
}

}  // namespace ptuner::mp
