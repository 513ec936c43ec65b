#pragma once
// The prompt seam: what a prompt method hands the frozen model for one micro-batch on one
// pipeline stage. The model knows nothing of how these were produced (train/ builds them); it
// only places them:
//   encoder_prefix  rows prepended to the encoder's input embeddings (Lester et al.; residual
//                   prompt tuning's projected prompt): [p, d_model] shared by the batch, or
//                   [B, p, d_model] when rows carry different prompts (ensembles, mixed tasks).
//                   Used by the stage holding the embedding; every stage learns p from the
//                   micro-batch (MicroBatch::prefix_length) to know the boundary shapes.
//   self_kv         per-block key/value prefixes of self-attention (P-tuning v2, prefix tuning),
//                   keyed by global block index (encoder blocks 0..L−1, decoder blocks L..);
//   cross_kv        the same for the decoder blocks' cross-attention.
// A key/value prefix is already split by heads for this TP rank: [1|B, heads/tp, p_b, d_kv]. Its
// positions carry no relative position bias and are never masked: every query attends to them.
// (Prefix tuning's virtual tokens have no place in the sequence; HF's cached-key convention,
// positions before the sequence, would tie each learned row to its distance from every query.)
// An optional `bias` [1|B, 1|heads/tp, 1|S, p_b] is added to the prefix columns' scores instead
// of zero (per-row prefix masks; a test hook at −∞ switches a prefix off). Its S rows are decoder
// positions from 0: decoding with a cache (DecoderCache) takes the rows of the new positions.
// A stage looks up only its own blocks; entries for other stages' blocks are not expected.
#include <ATen/core/Tensor.h>

#include <map>
#include <utility>

namespace ptuner::mp {

struct KvPrefix {
  KvPrefix() = default;
  KvPrefix(at::Tensor k, at::Tensor v, at::Tensor b = {}) : key(std::move(k)), value(std::move(v)), bias(std::move(b)) {}

  at::Tensor key, value;  // [1|B, heads/tp, p_b, d_kv]
  at::Tensor bias;        // optional additive score bias of the prefix columns (undefined: zero)
  int64_t length() const { return key.defined() ? key.size(2) : 0; }
};

struct PromptInjection {
  at::Tensor encoder_prefix;
  std::map<int64_t, KvPrefix> self_kv;
  std::map<int64_t, KvPrefix> cross_kv;

  int64_t prefix_length() const { return encoder_prefix.defined() ? encoder_prefix.size(-2) : 0; }
  // Whether any key/value prefix carries a gradient (activation recomputation must then run).
  bool kv_requires_grad() const {
    for (const auto* m : {&self_kv, &cross_kv})
      for (const auto& [block, kv] : *m)
        if ((kv.key.defined() && kv.key.requires_grad()) || (kv.value.defined() && kv.value.requires_grad()))
          return true;
    return false;
  }
  // The prefix of global block `block`, or nullptr.
  const KvPrefix* self_prefix(int64_t block) const { return find(self_kv, block); }
  const KvPrefix* cross_prefix(int64_t block) const { return find(cross_kv, block); }

 private:
  static const KvPrefix* find(const std::map<int64_t, KvPrefix>& m, int64_t block) {
    auto it = m.find(block);
    return it == m.end() ? nullptr : &it->second;
  }
};

}  // namespace ptuner::mp
