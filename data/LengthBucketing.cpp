#include "data/LengthBucketing.h"

#include <algorithm>

#include "data/StreamRandom.h"

namespace ptuner::data {

std::vector<int64_t> LengthBucketing::chunk_order(int64_t n, int64_t step, bool shuffle,
                                                  std::mt19937_64& rng) {
  const int64_t chunks = n / step;
  std::vector<int64_t> order(static_cast<size_t>(chunks));
  for (int64_t c = 0; c < chunks; ++c) order[static_cast<size_t>(c)] = c;
  if (shuffle)
    for (int64_t i = chunks - 1; i > 0; --i)
      std::swap(order[static_cast<size_t>(i)],
                order[uniform_below(rng, static_cast<uint64_t>(i + 1))]);
  return order;
}

std::vector<TokenizedExample> LengthBucketing::arrange(std::vector<TokenizedExample> window,
                                                       const std::vector<int64_t>& order,
                                                       int64_t step, int64_t max_input_len,
                                                       int64_t max_target_len) {
  auto kept = [](const std::vector<int64_t>& ids, int64_t max_len) {
    return std::min<int64_t>(static_cast<int64_t>(ids.size()), max_len);
  };
  std::stable_sort(window.begin(), window.end(),
                   [&](const TokenizedExample& a, const TokenizedExample& b) {
                     const int64_t ia = kept(a.input_ids, max_input_len);
                     const int64_t ib = kept(b.input_ids, max_input_len);
                     if (ia != ib) return ia < ib;
                     return kept(a.target_ids, max_target_len) < kept(b.target_ids, max_target_len);
                   });
  const auto n = static_cast<int64_t>(window.size());
  const auto chunks = static_cast<int64_t>(order.size());
  std::vector<TokenizedExample> out;
  out.reserve(window.size());
  for (const int64_t c : order)
    for (int64_t k = c * step; k < (c + 1) * step; ++k)
      out.push_back(std::move(window[static_cast<size_t>(k)]));
  for (int64_t k = chunks * step; k < n; ++k) out.push_back(std::move(window[static_cast<size_t>(k)]));
  return out;
}

}  // namespace ptuner::data
