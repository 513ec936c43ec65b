#include "data/ParallelTokenizer.h"

#include <algorithm>
#include <exception>
#include <thread>

#include "dist/Check.h"

namespace ptuner::data {

ParallelTokenizer::ParallelTokenizer(const Tokenizer& tokenizer, int threads)
    : tokenizer_(tokenizer), threads_(threads) {
  PTUNER_CHECK(threads >= 1, "ParallelTokenizer: threads must be >= 1, got {}", threads);
}

TokenizedExample ParallelTokenizer::encode(const ExampleStream::Indexed& ex, int64_t source) const {
  TokenizedExample t;
  t.input_ids = tokenizer_.encode(ex.second.inputs);
  t.target_ids = tokenizer_.encode(ex.second.targets);
  t.index = ex.first;
  t.source = source;
  return t;
}

std::vector<TokenizedExample> ParallelTokenizer::encode(
    const std::vector<ExampleStream::Indexed>& examples, const std::vector<int64_t>& sources,
    int64_t min_per_thread) const {
  const auto n = static_cast<int64_t>(examples.size());
  PTUNER_CHECK(sources.empty() || static_cast<int64_t>(sources.size()) == n,
               "ParallelTokenizer: {} sources for {} examples", sources.size(), n);
  std::vector<TokenizedExample> out(static_cast<size_t>(n));
  auto work = [&](int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k) {
      const auto i = static_cast<size_t>(k);
      out[i] = encode(examples[i], sources.empty() ? 0 : sources[i]);
    }
  };
  const int64_t t = std::clamp<int64_t>(n / std::max<int64_t>(min_per_thread, 1), 1, threads_);
  if (t == 1) {
    work(0, n);
    return out;
  }
  // Slice s = [s*n/t, (s+1)*n/t); the caller takes slice 0. The first error wins.
  std::vector<std::thread> pool;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(t));
  auto guarded = [&](int64_t s) {
    try {
      work(s * n / t, (s + 1) * n / t);
    } catch (...) {
      errors[static_cast<size_t>(s)] = std::current_exception();
    }
  };
  for (int64_t s = 1; s < t; ++s) pool.emplace_back(guarded, s);
  guarded(0);
  for (auto& th : pool) th.join();
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  return out;
}

}  // namespace ptuner::data
