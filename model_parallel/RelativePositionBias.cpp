#include "model_parallel/RelativePositionBias.h"

#include <cmath>

namespace ptuner::mp {

torch::Tensor relative_position_bucket(const torch::Tensor& relative_position, bool bidirectional,
                                       int64_t num_buckets, int64_t max_distance) {
  auto buckets = torch::zeros_like(relative_position);
  auto rel = relative_position;
  if (bidirectional) {
    num_buckets /= 2;
    buckets = buckets + (rel > 0).to(torch::kLong) * num_buckets;
    rel = rel.abs();
  } else {
    rel = -torch::clamp_max(rel, 0);
  }
  const int64_t max_exact = num_buckets / 2;
  auto is_small = rel < max_exact;
  // log-spaced buckets for max_exact ≤ |rel| < max_distance; truncation toward zero as .long().
  auto large = max_exact + (torch::log(rel.to(torch::kFloat32) / static_cast<double>(max_exact)) /
                            std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact)) *
                            static_cast<double>(num_buckets - max_exact))
                               .to(torch::kLong);
  large = torch::clamp_max(large, num_buckets - 1);
  return buckets + torch::where(is_small, rel, large);
}

RelativePositionBiasImpl::RelativePositionBiasImpl(const RelativePositionBiasOptions& o) : options_(o) {
  weight = register_parameter("weight", torch::empty({o.num_buckets(), o.num_heads()}), /*requires_grad=*/false);
}

torch::Tensor RelativePositionBiasImpl::forward(int64_t query_len, int64_t key_len, int64_t query_offset) {
  auto opts = torch::TensorOptions().dtype(torch::kLong).device(weight.device());
  auto context = torch::arange(query_offset, query_offset + query_len, opts).unsqueeze(1);
  auto memory = torch::arange(key_len, opts).unsqueeze(0);
  auto buckets = relative_position_bucket(memory - context, options_.bidirectional(), options_.num_buckets(),
                                          options_.max_distance());
  auto values = torch::embedding(weight, buckets);  // [q, k, heads]
  return values.permute({2, 0, 1}).unsqueeze(0);    // [1, heads, q, k]
}

}  // namespace ptuner::mp
