#include "model_parallel/StageSplit.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "dist/Check.h"

namespace ptuner::mp {

StageCosts StageCosts::of(const T5Config& c, int64_t S, int64_t T, int64_t micro_batch) {
  const double d = static_cast<double>(c.d_model), inner = static_cast<double>(c.inner_dim()),
               ff = static_cast<double>(c.d_ff) * (c.gated() ? 3 : 2), V = static_cast<double>(c.vocab_size);
  const double per_weight = micro_batch > 0 ? kWeightPassCost / static_cast<double>(micro_batch) : 0.0;
  StageCosts k;
  k.encoder_block = (static_cast<double>(S) + per_weight) * (4 * d * inner + d * ff);
  k.decoder_block = static_cast<double>(T) * (6 * d * inner + d * ff) + static_cast<double>(S) * 2 * d * inner +
                    per_weight * (8 * d * inner + d * ff);
  k.lm_head = (static_cast<double>(T) + per_weight) * d * V + static_cast<double>(T) * V * kSoftmaxCost;
  return k;
}

namespace {

StageSpec make_stage(const T5Config& c, int64_t begin, int64_t end, bool first, bool last) {
  const int64_t L = c.num_layers;
  StageSpec s;
  s.encoder_begin = std::min(begin, L);
  s.encoder_end = std::min(end, L);
  s.decoder_begin = std::max<int64_t>(begin - L, 0);
  s.decoder_end = std::max<int64_t>(end - L, 0);
  if (s.encoder_begin == s.encoder_end) s.encoder_begin = s.encoder_end = 0;
  if (s.decoder_begin == s.decoder_end) s.decoder_begin = s.decoder_end = 0;
  s.first = first;
  s.last = last;
  return s;
}

}  // namespace

double stage_cost(const StageSpec& s, const StageCosts& k) {
  return static_cast<double>(s.encoder_end - s.encoder_begin) * k.encoder_block +
         static_cast<double>(s.decoder_end - s.decoder_begin) * k.decoder_block + (s.last ? k.lm_head : 0.0);
}

std::vector<StageSpec> split_stages(const T5Config& c, int pp, const StageCosts& k,
                                    const std::vector<int64_t>& counts_in) {
  const int64_t n = c.num_layers + c.num_decoder_layers;
  PTUNER_CHECK(pp >= 1, "parallel.pp must be positive, got {}", pp);
  PTUNER_CHECK(pp <= n, "parallel.pp = {} stages but the model has only {} blocks ({} encoder + {} decoder)", pp, n,
               c.num_layers, c.num_decoder_layers);
  std::vector<int64_t> counts = counts_in;
  if (!counts.empty()) {
    PTUNER_CHECK(static_cast<int>(counts.size()) == pp, "parallel.stage_blocks has {} entries, parallel.pp is {}",
                 counts.size(), pp);
    for (auto x : counts) PTUNER_CHECK(x >= 1, "parallel.stage_blocks: every stage needs at least one block, got {}", x);
    const int64_t total = std::accumulate(counts.begin(), counts.end(), int64_t{0});
    PTUNER_CHECK(total == n, "parallel.stage_blocks sums to {}, the model has {} blocks", total, n);
  } else {
    // best[j][i]: the least possible maximum stage cost putting blocks [0, i) into j stages.
    auto block = [&](int64_t b) { return b < c.num_layers ? k.encoder_block : k.decoder_block; };
    std::vector<double> prefix(n + 1, 0.0);
    for (int64_t b = 0; b < n; ++b) prefix[b + 1] = prefix[b] + block(b);
    const double inf = std::numeric_limits<double>::infinity();
    std::vector<std::vector<double>> best(pp + 1, std::vector<double>(n + 1, inf));
    std::vector<std::vector<int64_t>> cut(pp + 1, std::vector<int64_t>(n + 1, 0));
    best[0][0] = 0;
    for (int j = 1; j <= pp; ++j)
      for (int64_t i = j; i <= n; ++i)
        for (int64_t prev = j - 1; prev < i; ++prev) {
          double cost = prefix[i] - prefix[prev] + (j == pp && i == n ? k.lm_head : 0.0);
          double worst = std::max(best[j - 1][prev], cost);
          if (worst < best[j][i] - 1e-9 * std::abs(worst)) best[j][i] = worst, cut[j][i] = prev;
        }
    counts.assign(pp, 0);
    for (int64_t j = pp, i = n; j >= 1; --j) {
      counts[j - 1] = i - cut[j][i];
      i = cut[j][i];
    }
  }
  std::vector<StageSpec> stages;
  int64_t begin = 0;
  for (int s = 0; s < pp; ++s) {
    stages.push_back(make_stage(c, begin, begin + counts[s], s == 0, s == pp - 1));
    begin += counts[s];
  }
  return stages;
}

}  // namespace ptuner::mp
