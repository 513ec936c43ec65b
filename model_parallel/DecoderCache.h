#pragma once
// Keys and values the decoder keeps between its calls on one batch while it decodes (no
// gradient; evaluation only). Two modes:
//   Incremental  generation one token at a time (HF's past_key_values): each call passes only the
//                new decoder positions; every block's self-attention keys and values of the
//                positions before them are kept and grown, and the cross-attention keys and values
//                of the encoder output are computed at the first call and reused.
//   CrossOnly    teacher-forced passes over whole target sequences against one encoder output
//                (rank classification's candidates): only the cross-attention keys and values are
//                kept; every call starts at decoder position 0.
// Prompt key/value prefixes are not held here: a block places them before the cached keys at each
// call, as it does without a cache. A stage keeps the cache of its own blocks only (keyed by global
// block index), so a pipeline's stages each hold their part and exchange only the new positions.
#include <ATen/core/Tensor.h>

#include <map>

namespace ptuner::mp {

struct AttentionCache {
  at::Tensor key, value;  // [B, heads/tp, n, d_kv], this TP rank's heads
  int64_t length() const { return key.defined() ? key.size(2) : 0; }
};

struct DecoderCache {
  enum class Mode { Incremental, CrossOnly };
  explicit DecoderCache(Mode m = Mode::Incremental) : mode(m) {}

  Mode mode;
  std::map<int64_t, AttentionCache> self, cross;

  bool incremental() const { return mode == Mode::Incremental; }
  // Decoder positions already held (every block holds as many; always 0 in CrossOnly).
  int64_t length() const { return self.empty() ? 0 : self.begin()->second.length(); }
};

}  // namespace ptuner::mp
