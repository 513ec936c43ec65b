#include "data/TokenizerTrainer.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <unordered_map>

#include "data/SentencePieceLibrary.h"
#include "dist/Check.h"

namespace ptuner::data {

namespace fs = std::filesystem;

namespace {

// sentencepiece takes a 32-bit seed and reserves 0xFFFFFFFF for "seed from random_device":
// fold the 64-bit seed into [0, 2^32 - 2].
unsigned int fold_seed(uint64_t seed) {
  const uint64_t folded = (seed ^ (seed >> 32)) & 0xFFFFFFFFull;
  return static_cast<unsigned int>(folded % 0xFFFFFFFFull);
}

void remove_quietly(const fs::path& p) {
  std::error_code ec;
  fs::remove(p, ec);
}

}  // namespace

void train_t5_tokenizer(const std::string& corpus_path, const std::string& out_model_path,
                        int vocab_size, uint64_t seed) {
  std::error_code ec;
  PTUNER_CHECK(fs::is_regular_file(corpus_path, ec),
               "train_t5_tokenizer: corpus file '{}' does not exist or is not a file", corpus_path);
  PTUNER_CHECK(vocab_size >= 4, "train_t5_tokenizer: vocab_size must be >= 4, got {}", vocab_size);
  PTUNER_CHECK(!out_model_path.empty(), "train_t5_tokenizer: empty output path");
  const fs::path out(out_model_path);
  const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  PTUNER_CHECK(fs::is_directory(dir, ec),
               "train_t5_tokenizer: output directory '{}' (for '{}') does not exist", dir.string(),
               out_model_path);

  // The model records its TrainerSpec, model_prefix included, so training into a temporary
  // prefix would make every file different: instead the prefix stays empty and the model comes
  // back as bytes (no <prefix>.model / .vocab files). The output then depends only on corpus
  // path and contents, vocab_size and seed.
  const std::unordered_map<std::string, std::string> args = {
      {"input", corpus_path},
      {"model_type", "unigram"},
      {"vocab_size", std::to_string(vocab_size)},
      {"hard_vocab_limit", "false"},
      {"pad_id", "0"},
      {"eos_id", "1"},
      {"unk_id", "2"},
      {"bos_id", "-1"},
      {"pad_piece", "<pad>"},
      {"eos_piece", "</s>"},
      {"unk_piece", "<unk>"},
      // Determinism: one thread, every sentence read (no sampling), fixed seed below.
      {"num_threads", "1"},
      {"input_sentence_size", "0"},
      {"shuffle_input_sentence", "false"},
      {"minloglevel", "1"},
  };
  // SentencePieceTrainer::Train, reached through SentencePieceLibrary (see there why).
  const auto& lib = SentencePieceLibrary::instance();
  lib.set_random_seed(fold_seed(seed));
  std::string model;
  const std::string error = lib.train(args, &model);
  PTUNER_CHECK(error.empty(),
               "train_t5_tokenizer: sentencepiece training on '{}' (vocab_size {}) failed: {}",
               corpus_path, vocab_size, error);
  PTUNER_CHECK(!model.empty(), "train_t5_tokenizer: sentencepiece returned an empty model for '{}'",
               corpus_path);

  // Write beside the output (same file system) under a unique name, then rename over it.
  std::random_device rd;
  const fs::path tmp =
      dir / fmt::format(".{}.tmp-{}-{:08x}", out.filename().string(), ::getpid(), rd());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f.write(model.data(), static_cast<std::streamsize>(model.size()));
    f.close();
    if (!f) {
      remove_quietly(tmp);
      PTUNER_FAIL("train_t5_tokenizer: cannot write '{}'", tmp.string());
    }
  }
  fs::rename(tmp, out, ec);
  if (ec) {
    remove_quietly(tmp);
    PTUNER_FAIL("train_t5_tokenizer: cannot move '{}' to '{}': {}", tmp.string(), out_model_path,
                ec.message());
  }
}

}  // namespace ptuner::data
