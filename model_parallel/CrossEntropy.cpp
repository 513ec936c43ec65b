#include "model_parallel/CrossEntropy.h"

#include "dist/Check.h"

namespace ptuner::mp {

LossSums cross_entropy_sums(const torch::Tensor& logits, const torch::Tensor& labels, double z_loss) {
  PTUNER_CHECK(logits.dim() == 3 && labels.dim() == 2 && logits.size(0) == labels.size(0) &&
                   logits.size(1) == labels.size(1),
               "cross_entropy: logits {} and labels {} do not match", fmt::join(logits.sizes(), "x"), fmt::join(labels.sizes(), "x"));
  auto flat = logits.to(torch::kFloat32).reshape({-1, logits.size(-1)});
  auto y = labels.reshape({-1});
  auto valid = y != kIgnoreIndex;
  auto safe = y.masked_fill(valid.logical_not(), 0);
  auto lse = torch::logsumexp(flat, -1);                          // [N]
  auto picked = flat.gather(1, safe.unsqueeze(1)).squeeze(1);     // [N]
  auto w = valid.to(torch::kFloat32);
  auto ce = (lse - picked) * w;
  LossSums out;
  out.ce = ce.sum().detach();
  out.total = z_loss > 0 ? (ce + z_loss * lse.pow(2) * w).sum() : ce.sum();
  out.tokens = valid.sum().item<int64_t>();
  return out;
}

torch::Tensor shift_right(const torch::Tensor& labels, int64_t start, int64_t pad) {
  auto out = torch::empty_like(labels);
  out.index_put_({torch::indexing::Slice(), 0}, start);
  out.index_put_({torch::indexing::Slice(), torch::indexing::Slice(1, torch::indexing::None)},
                 labels.index({torch::indexing::Slice(), torch::indexing::Slice(torch::indexing::None, -1)}));
  return out.masked_fill(out == kIgnoreIndex, pad);
}

}  // namespace ptuner::mp
