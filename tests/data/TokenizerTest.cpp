#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "data/SentencePieceLibrary.h"
#include "data/SentencePieceModelCheck.h"
#include "data/Tokenizer.h"
#include "dist/Check.h"
#include "tests/TestSupport.h"

namespace fs = std::filesystem;
using ptuner::data::Tokenizer;

namespace {

// Concatenation of vectors: ids(a) ++ ids(b) ...
std::vector<int64_t> cat(std::initializer_list<std::vector<int64_t>> parts) {
  std::vector<int64_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace

class TokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("ptuner_tokenizer_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    model_ = (dir_ / "tiny.model").string();
    fs::copy_file(ptuner::testing::tiny_tokenizer(1234), model_, fs::copy_options::overwrite_existing);
    tok_ = std::make_unique<Tokenizer>(model_);
  }
  static void TearDownTestSuite() {
    tok_.reset();
    fs::remove_all(dir_);
  }
  static inline fs::path dir_;
  static inline std::string model_;
  static inline std::unique_ptr<Tokenizer> tok_;
};

TEST_F(TokenizerTest, SpecialIdsFollowT5) {
  const Tokenizer& t = *tok_;
  EXPECT_EQ(t.pad_id(), 0);
  EXPECT_EQ(t.eos_id(), 1);
  EXPECT_EQ(t.unk_id(), 2);
  EXPECT_EQ(t.pieces({0, 1, 2}), (std::vector<std::string>{"<pad>", "</s>", "<unk>"}));
  // hard_vocab_limit=false: about 1000 pieces, possibly fewer on a small corpus.
  EXPECT_GT(t.piece_size(), 500);
  EXPECT_LE(t.piece_size(), 1000);
  EXPECT_EQ(t.vocab_size(), t.piece_size() + 100);
}

TEST_F(TokenizerTest, EncodeAppendsEos) {
  const Tokenizer& t = *tok_;
  const auto with = t.encode("The cat sleeps in the garden.");
  const auto without = t.encode("The cat sleeps in the garden.", /*add_eos=*/false);
  ASSERT_FALSE(without.empty());
  ASSERT_EQ(with.size(), without.size() + 1);
  EXPECT_EQ(with.back(), 1);
  EXPECT_EQ(std::vector<int64_t>(with.begin(), with.end() - 1), without);
  for (const int64_t id : without) {
    EXPECT_GT(id, 2);
    EXPECT_LT(id, t.piece_size());
  }
  EXPECT_EQ(t.encode(""), std::vector<int64_t>{1});
}

TEST_F(TokenizerTest, SentinelsSitAtTheTopOfTheVocabulary) {
  const Tokenizer& t = *tok_;
  const int64_t p = t.piece_size();
  EXPECT_EQ(t.sentinel_id(0), p + 99);
  EXPECT_EQ(t.sentinel_id(1), p + 98);
  EXPECT_EQ(t.sentinel_id(99), p);
  EXPECT_EQ(t.sentinel_index(p + 99), 0);
  EXPECT_EQ(t.sentinel_index(p), 99);
  EXPECT_EQ(t.sentinel_index(5), -1);
  EXPECT_EQ(t.encode("<extra_id_0>"), (std::vector<int64_t>{p + 99, 1}));
  EXPECT_EQ(t.encode("<extra_id_99>", false), (std::vector<int64_t>{p}));
  EXPECT_EQ(t.pieces({p + 99, p}), (std::vector<std::string>{"<extra_id_0>", "<extra_id_99>"}));
  EXPECT_THROW(t.sentinel_id(100), ptuner::Error);
  EXPECT_THROW(t.sentinel_id(-1), ptuner::Error);
  // With the real 32,000-piece vocabulary this is T5's <extra_id_0> = 32099.
  const Tokenizer few(model_, 3);
  EXPECT_EQ(few.vocab_size(), p + 3);
  EXPECT_EQ(few.sentinel_id(0), p + 2);
}

TEST_F(TokenizerTest, EncodeSplitsAtSentinelMarkers) {
  const Tokenizer& t = *tok_;
  const auto a = t.encode("a", false);
  const auto b = t.encode("b", false);
  const int64_t s0 = t.sentinel_id(0), s1 = t.sentinel_id(1);
  EXPECT_EQ(t.encode("a <extra_id_0> b"), cat({a, {s0}, b, {1}}));
  // Whitespace touching a marker is dropped, so spacing does not change the ids.
  EXPECT_EQ(t.encode("a<extra_id_0>b"), cat({a, {s0}, b, {1}}));
  EXPECT_EQ(t.encode("  a   <extra_id_0>   b  "), t.encode("a <extra_id_0> b"));
  const auto the_cat = t.encode("the cat", false);
  const auto sleeps = t.encode("sleeps", false);
  EXPECT_EQ(t.encode("<extra_id_0> the cat <extra_id_1> sleeps <extra_id_0>", false),
            cat({{s0}, the_cat, {s1}, sleeps, {s0}}));
  // Not markers: out of range, leading zero, unterminated. They are plain text.
  for (const std::string text : {"<extra_id_100>", "<extra_id_01>", "<extra_id_3", "<extra_id_>"}) {
    for (const int64_t id : t.encode(text)) EXPECT_LT(id, t.piece_size()) << text;
  }
}

TEST_F(TokenizerTest, DecodeRoundTrip) {
  const Tokenizer& t = *tok_;
  const std::string text = "The cat sleeps on the warm windowsill for most of the afternoon.";
  const auto ids = t.encode(text);
  EXPECT_EQ(t.decode(ids), text);
  // Pad skipped, stops at the first eos, ids past the vocabulary skipped.
  auto noisy = ids;
  noisy.insert(noisy.begin(), 0);
  noisy.insert(noisy.begin() + 3, t.vocab_size() + 5);
  noisy.push_back(t.encode("more text")[0]);
  EXPECT_EQ(t.decode(noisy), text);
  EXPECT_EQ(t.decode({0, 0, 1}), "");
  // Sentinels come back as markers.
  EXPECT_EQ(t.decode(t.encode("a <extra_id_0> b")), "a <extra_id_0> b");
  EXPECT_EQ(t.decode(t.encode("<extra_id_3> yes")), "<extra_id_3> yes");
  EXPECT_EQ(t.decode(t.encode("review: positive")), "review: positive");
}

TEST_F(TokenizerTest, UnknownCharactersMapToUnk) {
  const auto ids = tok_->encode("\xE6\xBC\xA2");  // a CJK character absent from the corpus
  EXPECT_NE(std::find(ids.begin(), ids.end(), 2), ids.end());
}

TEST_F(TokenizerTest, MostCommonIdsExcludeSpecials) {
  const Tokenizer& t = *tok_;
  const auto ids = t.most_common_ids(50);
  ASSERT_EQ(ids.size(), 50u);
  EXPECT_EQ(std::set<int64_t>(ids.begin(), ids.end()).size(), 50u);
  for (const int64_t id : ids) {
    EXPECT_GT(id, 2);
    EXPECT_LT(id, t.piece_size());
  }
  // The first of them are frequent pieces of the corpus: "▁the" is among the top 50.
  const auto pieces = t.pieces(ids);
  EXPECT_NE(std::find(pieces.begin(), pieces.end(), "\xE2\x96\x81the"), pieces.end());
  // The best-first order is a prefix order.
  const auto ten = t.most_common_ids(10);
  EXPECT_EQ(ten, std::vector<int64_t>(ids.begin(), ids.begin() + 10));
  // Asking for more than there are gives every ordinary piece.
  const auto all = t.most_common_ids(1000000);
  EXPECT_EQ(static_cast<int64_t>(all.size()), t.piece_size() - 3);
  EXPECT_TRUE(t.most_common_ids(0).empty());
}

TEST_F(TokenizerTest, MissingOrInvalidModelNamesThePath) {
  const std::string missing = (dir_ / "no_such.model").string();
  try {
    Tokenizer t(missing);
    FAIL() << "no error";
  } catch (const ptuner::Error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  const std::string garbage = (dir_ / "garbage.model").string();
  std::ofstream(garbage) << "this is not a sentencepiece model";
  try {
    Tokenizer t(garbage);
    FAIL() << "no error";
  } catch (const ptuner::Error& e) {
    EXPECT_NE(std::string(e.what()).find(garbage), std::string::npos) << e.what();
  }
}

TEST_F(TokenizerTest, WrongSpecialIdsAreNamed) {
  // sentencepiece's own defaults: unk 0, bos 1, eos 2, pad disabled.
  const std::string prefix = (dir_ / "default_ids").string();
  const std::string error = ptuner::data::SentencePieceLibrary::instance().train(
      {{"input", std::string(PTUNER_SOURCE_DIR) + "/data/assets/tiny_corpus.txt"},
       {"model_prefix", prefix},
       {"vocab_size", "300"},
       {"hard_vocab_limit", "false"},
       {"num_threads", "1"},
       {"minloglevel", "1"}});
  ASSERT_EQ(error, "");
  try {
    Tokenizer t(prefix + ".model");
    FAIL() << "no error";
  } catch (const ptuner::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("pad id -1"), std::string::npos) << msg;
    EXPECT_NE(msg.find(prefix + ".model"), std::string::npos) << msg;
  }
}

namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string le32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return out;
}

// A ModelProto holding only a normalizer_spec (field 3) whose precompiled_charsmap (field 2) is
// `charsmap` (both shorter than 128 bytes: one-byte lengths).
std::string model_with_charsmap(const std::string& charsmap) {
  const std::string spec = std::string("\x12") + static_cast<char>(charsmap.size()) + charsmap;
  return std::string("\x1a") + static_cast<char>(spec.size()) + spec;
}

}  // namespace

TEST_F(TokenizerTest, DamagedCharsmapIsRefusedBeforeSentencepieceFollowsIt) {
  // Real models pass: the tiny model (nmt_nfkc, a 240 KB charsmap) and one with a custom rule
  // table and byte fallback, which also loads and normalises by its rules (A -> a).
  EXPECT_EQ(ptuner::data::sentencepiece_model_problem(read_bytes(model_)), "");
  const std::string fixtures = std::string(PTUNER_SOURCE_DIR) + "/tests/fixtures/spm/";
  EXPECT_EQ(ptuner::data::sentencepiece_model_problem(read_bytes(fixtures + "rules.model")), "");
  const Tokenizer rules(fixtures + "rules.model");
  EXPECT_EQ(rules.encode("AB"), rules.encode("ab"));
  EXPECT_EQ(rules.decode(rules.encode("the AB")), "the ab");

  // The same model with a charsmap leaf pointing outside its strings (found by the fuzz target;
  // sentencepiece 0.1.97 loads it and crashes on the first encode): refused, naming file and why.
  const std::string damaged = fixtures + "charsmap-value-out-of-range.model";
  try {
    Tokenizer t(damaged);
    FAIL() << "no error";
  } catch (const ptuner::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(damaged), std::string::npos) << msg;
    EXPECT_NE(msg.find("is damaged: normalizer_spec.precompiled_charsmap: trie value 16777214 "
                       "points outside its 6-byte string block"),
              std::string::npos)
        << msg;
  }

  // A model with an empty piece: up to sentencepiece 0.2.0 darts-clone throws from inside its
  // Load; 0.2.1 and later refuse the piece themselves.
  const std::string empty_piece = fixtures + "empty-piece.model";
  try {
    Tokenizer t(empty_piece);
    FAIL() << "no error";
  } catch (const ptuner::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("cannot load sentencepiece model '" + empty_piece + "': "), std::string::npos) << msg;
    EXPECT_TRUE((msg.find("sentencepiece threw: ") != std::string::npos &&
                 msg.find("zero-length key") != std::string::npos) ||
                msg.find("piece must not include null character") != std::string::npos)
        << msg;
  }

  // Each way a charsmap can mislead a lookup.
  using ptuner::data::sentencepiece_model_problem;
  EXPECT_EQ(sentencepiece_model_problem(model_with_charsmap("")), "");
  EXPECT_EQ(sentencepiece_model_problem(model_with_charsmap("abc")),
            "normalizer_spec.precompiled_charsmap: 3 bytes, too short for its trie size");
  EXPECT_EQ(sentencepiece_model_problem(model_with_charsmap(le32(8) + "abcd")),
            "normalizer_spec.precompiled_charsmap: trie size 8 does not fit its 8-byte blob");
  // One unit whose children would start at base 0: a lookup reads units 0..255.
  EXPECT_EQ(sentencepiece_model_problem(model_with_charsmap(le32(4) + le32(0) + "a")),
            "normalizer_spec.precompiled_charsmap: its 1-byte string block does not end in NUL");
  const std::string nul(1, '\0');
  EXPECT_EQ(sentencepiece_model_problem(model_with_charsmap(le32(4) + le32(0) + nul)),
            "normalizer_spec.precompiled_charsmap: trie node base 0 reaches past its 1 units");
  // Not protobuf: a key of wire type 7, and a length past the end.
  EXPECT_EQ(sentencepiece_model_problem("\x0f"),
            "not a sentencepiece model: field 1: unsupported wire type 7 at byte 1");
  EXPECT_EQ(sentencepiece_model_problem("\x1a\x05\x12"),
            "not a sentencepiece model: field 3: length runs past the end at byte 2");
}
