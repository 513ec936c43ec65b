#include "data/SentencePieceModelCheck.h"

#include <fmt/format.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

namespace ptuner::data {

namespace {

// Protobuf wire format: a field is a varint key (number << 3 | wire type) then its value.
struct WireReader {
  std::string_view in;
  size_t pos = 0;

  bool done() const { return pos >= in.size(); }

  std::optional<uint64_t> varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= in.size()) return std::nullopt;
      const auto b = static_cast<uint8_t>(in[pos++]);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return std::nullopt;
  }

  // Reads one field; `bytes` is set for length-delimited ones. Returns the field number, 0 on a
  // malformed field.
  uint64_t field(std::string_view& bytes, std::string& error) {
    bytes = {};
    const auto key = varint();
    if (!key || (*key >> 3) == 0) {
      error = fmt::format("malformed protobuf field key at byte {}", pos);
      return 0;
    }
    const uint64_t number = *key >> 3;
    switch (*key & 7) {
      case 0:
        if (!varint()) {
          error = fmt::format("field {}: malformed varint at byte {}", number, pos);
          return 0;
        }
        return number;
      case 1:
      case 5: {
        const size_t width = (*key & 7) == 1 ? 8 : 4;
        if (in.size() - pos < width) {
          error = fmt::format("field {}: cut off at byte {}", number, pos);
          return 0;
        }
        pos += width;
        return number;
      }
      case 2: {
        const auto length = varint();
        if (!length || *length > in.size() - pos) {
          error = fmt::format("field {}: length runs past the end at byte {}", number, pos);
          return 0;
        }
        bytes = in.substr(pos, static_cast<size_t>(*length));
        pos += static_cast<size_t>(*length);
        return number;
      }
      default:
        error = fmt::format("field {}: unsupported wire type {} at byte {}", number, *key & 7, pos);
        return 0;
    }
  }
};

// darts-clone's DoubleArrayUnit, as sentencepiece's Darts::DoubleArray reads it.
bool has_leaf(uint32_t unit) { return ((unit >> 8) & 1) == 1; }
uint32_t unit_value(uint32_t unit) { return unit & ((1U << 31) - 1); }
uint32_t unit_label(uint32_t unit) { return unit & ((1U << 31) | 0xFF); }
uint32_t unit_offset(uint32_t unit) { return (unit >> 10) << ((unit & (1U << 9)) >> 6); }

std::string charsmap_problem(std::string_view blob) {
  if (blob.empty()) return "";  // no charsmap: identity normalisation
  if (blob.size() <= 4) return fmt::format("{} bytes, too short for its trie size", blob.size());
  uint32_t trie_size = 0;
  std::memcpy(&trie_size, blob.data(), 4);  // little endian, as sentencepiece writes it
  if (trie_size > blob.size() - 4 || trie_size % 4 != 0 || trie_size == 0)
    return fmt::format("trie size {} does not fit its {}-byte blob", trie_size, blob.size());
  const std::string_view trie = blob.substr(4, trie_size);
  const std::string_view strings = blob.substr(4 + trie_size);
  if (!strings.empty() && strings.back() != '\0')
    return fmt::format("its {}-byte string block does not end in NUL", strings.size());
  const size_t n = trie.size() / 4;
  std::vector<uint32_t> units(n);
  std::memcpy(units.data(), trie.data(), n * 4);
  // Every node a lookup can reach: from a node whose children start at `base`, a key byte c
  // reads units[base ^ c], and a matching label moves on to that unit's own base, where a leaf
  // value is read when the unit says it has one.
  std::vector<bool> seen(n, false);
  std::vector<uint32_t> bases{unit_offset(units[0])};  // the root is unit 0
  while (!bases.empty()) {
    const uint32_t base = bases.back();
    bases.pop_back();
    if ((base | 0xFFu) >= n)
      return fmt::format("trie node base {} reaches past its {} units", base, n);
    for (uint32_t c = 0; c < 256; ++c) {
      const uint32_t id = base ^ c;
      const uint32_t unit = units[id];
      if (unit_label(unit) != c || seen[id]) continue;
      seen[id] = true;
      const uint32_t child = id ^ unit_offset(unit);
      if (has_leaf(unit)) {
        if (child >= n) return fmt::format("trie leaf {} lies past its {} units", child, n);
        const uint32_t value = unit_value(units[child]);
        if (value >= strings.size())
          return fmt::format("trie value {} points outside its {}-byte string block", value,
                             strings.size());
      }
      bases.push_back(child);
    }
  }
  return "";
}

// NormalizerSpec: field 2 is precompiled_charsmap.
std::string spec_problem(std::string_view spec, const char* name) {
  WireReader r{spec};
  std::string error;
  while (!r.done()) {
    std::string_view bytes;
    const uint64_t number = r.field(bytes, error);
    if (number == 0) return fmt::format("{}: {}", name, error);
    if (number == 2) {
      const std::string problem = charsmap_problem(bytes);
      if (!problem.empty()) return fmt::format("{}.precompiled_charsmap: {}", name, problem);
    }
  }
  return "";
}

}  // namespace

std::string sentencepiece_model_problem(std::string_view serialized) {
  // ModelProto: 3 normalizer_spec, 5 denormalizer_spec. Every occurrence is checked (protobuf
  // merges repeated occurrences of a message field, the last charsmap winning).
  WireReader r{serialized};
  std::string error;
  while (!r.done()) {
    std::string_view bytes;
    const uint64_t number = r.field(bytes, error);
    if (number == 0) return "not a sentencepiece model: " + error;
    if (number == 3 || number == 5) {
      const std::string problem =
          spec_problem(bytes, number == 3 ? "normalizer_spec" : "denormalizer_spec");
      if (!problem.empty()) return problem;
    }
  }
  return "";
}

}  // namespace ptuner::data
