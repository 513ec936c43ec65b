#pragma once
// The loaders' random draws, fixed so that a data order (and so a checkpoint's data position)
// means the same with every standard library: std::mt19937_64 seeded through std::seed_seq
// (both algorithms fixed by the standard), integers by rejection, reals from 53 bits.
#include <cstdint>
#include <initializer_list>
#include <random>
#include <vector>

namespace ptuner::data {

// Uniform integer in [0, n), n >= 1, by rejection: x is accepted when x >= 2^64 mod n, so
// every residue is equally likely. Unlike std::uniform_int_distribution the result is the same
// with every standard library.
inline uint64_t uniform_below(std::mt19937_64& rng, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;  // 2^64 mod n
  uint64_t x = rng();
  while (x < threshold) x = rng();
  return x % n;
}

// Uniform real in [0, 1) from exactly one draw: the top 53 bits of x, times 2^-53.
inline double uniform_unit(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}

// Seeds `rng` with std::seed_seq over the 32-bit halves of (seed, index) followed by the `tags`
// words (which tell apart the generators of one seed: shuffle, bucketing, mixing, source i).
inline void seed_stream(std::mt19937_64& rng, uint64_t seed, int64_t index,
                        const std::vector<uint32_t>& tags = {}) {
  const auto e = static_cast<uint64_t>(index);
  std::vector<uint32_t> words = {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                                 static_cast<uint32_t>(e), static_cast<uint32_t>(e >> 32)};
  words.insert(words.end(), tags.begin(), tags.end());
  std::seed_seq seq(words.begin(), words.end());
  rng.seed(seq);
}

constexpr uint32_t kBucketTag = 0x62756b74;  // "bukt": the chunk order of bucketing windows
constexpr uint32_t kMixingTag = 0x6d697878;  // "mixx": a mixture's choice of source
constexpr uint32_t kSourceTag = 0x73726365;  // "srce": a mixture source's shuffle (+ its index)

}  // namespace ptuner::data
