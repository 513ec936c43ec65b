#pragma once
// Access to libsentencepiece / libsentencepiece_train, loaded privately at run time.
//
// Why: Debian's libsentencepiece exports the protobuf-lite 3.14 it bundles, under the same
// symbol names as the system libprotobuf 3.21 that LibTorch needs. Linked normally, whichever
// library comes first in the process's global symbol scope serves both: with libprotobuf first
// every sentencepiece call dies in protobuf's version check, with sentencepiece first LibTorch
// crashes at start-up. So no code of ours references a sentencepiece symbol (the linker's
// --as-needed then drops the libraries), and this class dlopen()s them with RTLD_LOCAL |
// RTLD_DEEPBIND: sentencepiece resolves protobuf inside itself, LibTorch keeps libprotobuf.
// (DEEPBIND only when a protobuf is already in the global scope: a program without LibTorch,
// such as the sanitizer-built tokenizer fuzz target, has no clash and gets a plain RTLD_LOCAL.)
// Classes are reached through their vtables (virtual methods need no symbol); the few
// non-virtual functions (processor constructor, trainer, seed, and before 0.2.1 its own Status
// type) through dlsym().
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace ptuner::data {

class SentencePieceLibrary {
 public:
  // The process-wide instance; loads the libraries on first use (thread-safe). Throws
  // ptuner::Error naming the library or symbol that cannot be found.
  static const SentencePieceLibrary& instance();

  // A new, empty processor (call Load on it through load()).
  std::shared_ptr<sentencepiece::SentencePieceProcessor> new_processor() const;

  // The calls below return "" on success, else sentencepiece's error message.
  std::string load(sentencepiece::SentencePieceProcessor& sp, const std::string& path) const;
  // The model from its serialized bytes (a .model file's contents).
  std::string load_serialized(sentencepiece::SentencePieceProcessor& sp,
                              const std::string& serialized) const;
  std::string encode(const sentencepiece::SentencePieceProcessor& sp, const std::string& text,
                     std::vector<int>& ids) const;
  std::string decode(const sentencepiece::SentencePieceProcessor& sp, const std::vector<int>& ids,
                     std::string& text) const;
  // SentencePieceTrainer::Train(kwargs), e.g. {{"input", "corpus.txt"}, {"vocab_size", "1000"}}.
  // With `serialized_model` the trained model comes back as bytes instead of being written to
  // <model_prefix>.model / .vocab.
  std::string train(const std::unordered_map<std::string, std::string>& kwargs,
                    std::string* serialized_model = nullptr) const;
  // sentencepiece::SetRandomGeneratorSeed (process-wide).
  void set_random_seed(unsigned int seed) const;

  // False when libsentencepiece was already in the global scope before we loaded it (some
  // target linked it directly): then the protobuf clash above is back.
  bool isolated() const { return isolated_; }

 private:
  SentencePieceLibrary();
  struct Symbols;
  std::shared_ptr<const Symbols> sym_;
  bool isolated_ = true;
};

}  // namespace ptuner::data
