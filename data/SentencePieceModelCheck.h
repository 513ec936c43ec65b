#pragma once
// Checks the parts of a serialized sentencepiece model (ModelProto) that sentencepiece 0.1.97
// trusts without checking, before the bytes reach it.
//
// The precompiled normalisation charsmap (NormalizerSpec.precompiled_charsmap, in the normalizer
// and denormalizer specs) is a 4-byte trie size, a darts-clone double-array trie and a block of
// NUL-terminated replacement strings. sentencepiece follows the trie's offsets and strlen()s the
// strings its values point at with no bounds check, so a damaged spiece.model (a cut download, a
// flipped byte) reads outside the model and crashes the process on the first encode: found by
// the tokenizer fuzz target. This check walks every trie node and transition sentencepiece's
// lookups can reach and refuses a model where one falls outside the trie, or a value outside the
// strings, or the strings do not end in NUL.
#include <string>
#include <string_view>

namespace ptuner::data {

// "" when the model's charsmaps are safe to hand to sentencepiece (or there are none); else what
// is wrong, e.g. "normalizer_spec.precompiled_charsmap: trie value 7012 points outside its
// 3400-byte string block". Also refuses bytes that are not protobuf wire format at all.
std::string sentencepiece_model_problem(std::string_view serialized);

}  // namespace ptuner::data
