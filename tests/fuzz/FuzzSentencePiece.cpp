// The sentencepiece-model path (a checkpoint's spiece.model through data::Tokenizer) on arbitrary
// bytes: a Tokenizer or an Error, and a loaded one encodes, splits into pieces and decodes.
// Input: two bytes n (little endian), then n bytes of text (fewer when the input is shorter),
// then the model file.
#include <cstdint>
#include <string>
#include <vector>

#include "data/Tokenizer.h"
#include "dist/Check.h"
#include "tests/fuzz/FuzzSupport.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  size_t text_size = static_cast<size_t>(data[0]) | (static_cast<size_t>(data[1]) << 8);
  if (text_size > size - 2) text_size = size - 2;
  const std::string text(reinterpret_cast<const char*>(data + 2), text_size);
  const size_t model_offset = 2 + text_size;
  const auto path = ptuner::fuzz::input_file(data + model_offset, size - model_offset, ".model");
  try {
    const ptuner::data::Tokenizer tokenizer(path, /*num_extra_ids=*/100);
    std::vector<int64_t> ids = tokenizer.encode(text);
    (void)tokenizer.pieces(ids);
    (void)tokenizer.decode(ids);
    (void)tokenizer.most_common_ids(8);
    // The text's bytes as ids too: out-of-vocabulary, sentinel and padding ids.
    std::vector<int64_t> raw;
    for (unsigned char c : text) raw.push_back(tokenizer.vocab_size() - 128 + c);
    (void)tokenizer.decode(raw);
    (void)tokenizer.pieces(raw);
  } catch (const ptuner::Error&) {
  }
  return 0;
}
