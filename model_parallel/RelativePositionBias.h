#pragma once
// T5's bucketed relative position bias. relative_position = key_pos − query_pos.
// Bidirectional (encoder): half the buckets for positive offsets, half for the rest.
// Causal (decoder): only offsets ≤ 0 count, as −min(rel, 0).
// Within a half, offsets below max_exact = buckets/2 get their own bucket; larger ones share
// logarithmically spaced buckets up to max_distance, clipped to the last bucket.
#include <torch/torch.h>

namespace ptuner::mp {

// relative_position: int64 tensor of any shape -> bucket ids of the same shape.
torch::Tensor relative_position_bucket(const torch::Tensor& relative_position, bool bidirectional,
                                       int64_t num_buckets, int64_t max_distance);

struct RelativePositionBiasOptions {
  RelativePositionBiasOptions(int64_t num_buckets, int64_t max_distance, int64_t num_heads, bool bidirectional)
      : num_buckets_(num_buckets), max_distance_(max_distance), num_heads_(num_heads),
        bidirectional_(bidirectional) {}
  TORCH_ARG(int64_t, num_buckets);
  TORCH_ARG(int64_t, max_distance);
  TORCH_ARG(int64_t, num_heads);  // heads held by this TP rank
  TORCH_ARG(bool, bidirectional);
};

class RelativePositionBiasImpl : public torch::nn::Module {
 public:
  explicit RelativePositionBiasImpl(const RelativePositionBiasOptions& options);
  // Queries at positions query_offset.. (decoding with a cache: the new positions after the
  // cached ones), keys at 0.. -> [1, heads, query_len, key_len]
  torch::Tensor forward(int64_t query_len, int64_t key_len, int64_t query_offset = 0);
  torch::Tensor weight;  // [num_buckets, heads], frozen

 private:
  RelativePositionBiasOptions options_;
};
TORCH_MODULE(RelativePositionBias);

}  // namespace ptuner::mp
