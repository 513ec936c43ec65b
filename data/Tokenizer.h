#pragma once
// T5's tokenizer: a sentencepiece model plus T5's conventions.
//
// Ids: pad 0, eos 1, unk 2, no bos. The sentencepiece model holds piece_size() pieces
// (ids [0, piece_size)); T5 adds num_extra_ids sentinels on top, numbered downwards:
//   <extra_id_i> = piece_size + num_extra_ids - 1 - i      (i in [0, num_extra_ids))
// so with the 32,000-piece T5 vocabulary <extra_id_0> = 32099 and <extra_id_99> = 32000, and
// vocab_size() = piece_size + num_extra_ids. (HF checkpoints pad the embedding matrix further,
// e.g. to 32128 rows; ids >= vocab_size() are never produced.)
//
// Copies are cheap and share the loaded model; all methods are const and thread-safe.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace ptuner::data {

class Tokenizer {
 public:
  // Loads `model_path` (a sentencepiece .model, e.g. a checkpoint's spiece.model). Throws
  // ptuner::Error naming the path when the file is missing or not a sentencepiece model, and
  // naming the id when the model's pad / eos / unk are not 0 / 1 / 2.
  explicit Tokenizer(const std::string& model_path, int num_extra_ids = 100);

  // Text -> ids. Markers "<extra_id_N>" (N < num_extra_ids) split the text; each non-empty
  // segment between them is encoded by sentencepiece with the whitespace next to a marker
  // stripped (as HF's T5 tokenizer does), each marker becomes its sentinel id, and EOS (1) is
  // appended when add_eos. "a <extra_id_0> b" -> ids("a") ++ [sentinel 0] ++ ids("b") ++ [1].
  std::vector<int64_t> encode(const std::string& text, bool add_eos = true) const;

  // One string per id: "<pad>", "</s>", "<unk>", the sentencepiece piece ("▁the"), sentinels as
  // "<extra_id_N>", ids >= vocab_size() as "<unused_id_N>". Negative ids throw.
  std::vector<std::string> pieces(const std::vector<int64_t>& ids) const;

  // Ids -> text. Skips pad (and negative ids such as the -100 label padding), stops at the first
  // eos, renders sentinels as "<extra_id_N>" separated from the text around them by one space,
  // and skips other ids >= vocab_size().
  std::string decode(const std::vector<int64_t>& ids) const;

  int64_t pad_id() const { return 0; }
  int64_t eos_id() const { return 1; }
  int64_t unk_id() const { return 2; }
  int64_t piece_size() const { return piece_size_; }
  int64_t num_extra_ids() const { return num_extra_ids_; }
  int64_t vocab_size() const { return piece_size_ + num_extra_ids_; }
  // Id of <extra_id_i>, i in [0, num_extra_ids).
  int64_t sentinel_id(int i) const;
  // i for a sentinel id, -1 for any other id.
  int sentinel_index(int64_t id) const;

  // The n ordinary pieces with the highest sentencepiece scores, best first (ties by id). For
  // unigram models a piece's score is its log-probability, so these are the n most common
  // pieces. Excludes pad / eos / unk, control, unused and byte pieces, and the sentinels.
  // Returns all ordinary pieces when the model holds fewer than n.
  std::vector<int64_t> most_common_ids(int n) const;

  const std::string& model_path() const { return model_path_; }

 private:
  void append_segment(const std::string& text, std::vector<int64_t>& ids) const;

  std::shared_ptr<const sentencepiece::SentencePieceProcessor> sp_;
  std::string model_path_;
  int64_t piece_size_ = 0;
  int64_t num_extra_ids_ = 0;
};

}  // namespace ptuner::data
