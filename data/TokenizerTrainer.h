#pragma once
// Trains a sentencepiece unigram model with T5's special ids (pad 0, eos 1, unk 2, no bos), for
// tests and the tiny demo model; real runs use the checkpoint's own spiece.model.
#include <cstdint>
#include <string>

namespace ptuner::data {

// Reads `corpus_path` (plain text, one sentence per line), trains a unigram model of about
// `vocab_size` pieces (a soft limit: a small corpus may give fewer) and writes it to
// `out_model_path` exactly (no .vocab file is left behind). Deterministic: one thread, every
// sentence used, sentencepiece's generator seeded from `seed`, so the same corpus, size and
// seed give a byte-identical file. (Unigram training on the whole corpus draws no random
// numbers, so in practice the seed does not change the model either.) Throws ptuner::Error
// naming the corpus when it is missing, and sentencepiece's message when training fails.
void train_t5_tokenizer(const std::string& corpus_path, const std::string& out_model_path,
                        int vocab_size, uint64_t seed);

}  // namespace ptuner::data
