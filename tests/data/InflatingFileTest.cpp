// InflatingFile: the bytes of plain and gzip files, and every kind of gzip damage seen as such,
// whichever zlib is installed (zlib 1.3.2's gzread returns an empty file, with no error, for the
// stream damaged right after its header below).
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "data/InflatingFile.h"
#include "dist/Check.h"

namespace fs = std::filesystem;
using ptuner::data::InflatingFile;

namespace {

class InflatingFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ptuner_inflating_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    // 20000 distinct lines, about 700 KB: several input buffers and many output chunks.
    for (int i = 0; i < 20000; ++i)
      text_ += "{\"id\": " + std::to_string(i) + ", \"text\": \"record " + std::to_string(i * 7919 % 10007) +
               "\"}\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // `content` gzip-compressed as one member (zlib's gz writer: a gzip header and trailer).
  std::string gzip(const std::string& content) {
    const std::string tmp = (dir_ / "member.gz").string();
    gzFile f = gzopen(tmp.c_str(), "wb");
    EXPECT_NE(f, nullptr);
    EXPECT_EQ(gzwrite(f, content.data(), static_cast<unsigned>(content.size())), static_cast<int>(content.size()));
    EXPECT_EQ(gzclose(f), Z_OK);
    return read_file(tmp);
  }
  static std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  // Everything the file yields, `chunk` bytes per read; `error` gets the message if one is thrown.
  static std::string read_all(InflatingFile& f, size_t chunk, std::string* error = nullptr) {
    std::string out, buf(chunk, '\0');
    try {
      for (size_t n; (n = f.read(buf.data(), chunk)) > 0;) out.append(buf.data(), n);
    } catch (const ptuner::Error& e) {
      if (error == nullptr) throw;
      *error = e.what();
    }
    return out;
  }

  // `got` is the text (or, with prefix, a start of it): compared without printing 700 KB.
  ::testing::AssertionResult is_text(const std::string& got, bool prefix = false) const {
    if (prefix ? text_.compare(0, got.size(), got) == 0 && got.size() <= text_.size() : got == text_)
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << got.size() << " bytes, not " << (prefix ? "a start of " : "")
                                         << "the " << text_.size() << "-byte text";
  }

  fs::path dir_;
  std::string text_;
};

TEST_F(InflatingFileTest, PlainAndGzipFilesGiveTheirBytesInAnyChunkSize) {
  const std::string plain = write("plain.jsonl", text_);
  const std::string gz = write("text.jsonl.gz", gzip(text_));
  for (const size_t chunk : {size_t{1} << 16, size_t{7}, size_t{1} << 20}) {
    InflatingFile p(plain), g(gz);
    EXPECT_FALSE(p.compressed());
    EXPECT_TRUE(g.compressed());
    EXPECT_TRUE(is_text(read_all(p, chunk))) << chunk;
    EXPECT_TRUE(is_text(read_all(g, chunk))) << chunk;
    EXPECT_FALSE(g.truncated());
    EXPECT_EQ(g.read(nullptr, 0), 0u);
    // Back to the first byte.
    g.rewind();
    EXPECT_TRUE(is_text(read_all(g, chunk))) << chunk;
  }
  // An empty file and a one-byte file are plain.
  InflatingFile empty(write("empty.jsonl", "")), one(write("one.jsonl", "\x1f"));
  EXPECT_FALSE(empty.compressed());
  EXPECT_EQ(read_all(empty, 16), "");
  EXPECT_FALSE(one.compressed());
  EXPECT_EQ(read_all(one, 16), "\x1f");
  EXPECT_THROW(InflatingFile((dir_ / "missing.jsonl.gz").string()), ptuner::Error);
}

// Concatenated members are one stream (as gzip -d reads `cat a.gz b.gz`); zero padding after the
// last member is ignored; other bytes after it are damage, named with their offset.
TEST_F(InflatingFileTest, MembersAreOneStreamAndOnlyZeroPaddingMayFollow) {
  const std::string a = text_.substr(0, 300000), b = text_.substr(300000);
  const std::string two = gzip(a) + gzip(b);
  InflatingFile f(write("two.jsonl.gz", two + std::string(1000, '\0')));
  EXPECT_TRUE(is_text(read_all(f, 1 << 16)));
  EXPECT_FALSE(f.truncated());

  // Cut one and two bytes into a third member: truncated, not junk.
  for (const size_t into : {size_t{1}, size_t{2}}) {
    InflatingFile cut(write("cut-member.jsonl.gz", two + gzip("more\n").substr(0, into)));
    std::string error;
    EXPECT_TRUE(is_text(read_all(cut, 1 << 16, &error)));
    EXPECT_EQ(error, "") << into;
    EXPECT_TRUE(cut.truncated()) << into;
  }

  const std::string path = write("junk.jsonl.gz", two + std::string(10, '\0') + "junk");
  InflatingFile j(path);
  std::string error;
  // (The bytes decoded in the read that meets the junk are not returned.)
  EXPECT_TRUE(is_text(read_all(j, 1 << 16, &error), true));
  EXPECT_EQ(error, "data file '" + path + "': damaged gzip stream: byte " + std::to_string(two.size() + 10) +
                       " after the end of a gzip member is neither another member nor zero padding");
}

// A stream damaged anywhere throws before the end (zlib's reason and the offset named); a cut
// stream yields what could be decoded, then ends with truncated(). Neither is ever a short file.
TEST_F(InflatingFileTest, DamageThrowsAndACutIsTruncatedWhereverItFalls) {
  const std::string good = gzip(text_);
  // Everything after the 10-byte header and two deflate bytes inverted (zlib 1.3.2's gzread: an
  // empty file, no error).
  std::string xored = good;
  for (size_t i = 12; i < xored.size(); ++i) xored[i] = static_cast<char>(xored[i] ^ 0x5a);
  // One bit in the middle (a CRC-32 or deflate error), and one bit of the trailer's CRC-32.
  std::string bit = good, crc = good;
  bit[good.size() / 2] ^= 0x10;
  crc[good.size() - 6] ^= 0x01;
  for (const auto& [name, bytes] : {std::pair<std::string, std::string>{"xored", xored}, {"bit", bit}, {"crc", crc}}) {
    const std::string path = write(name + ".jsonl.gz", bytes);
    InflatingFile f(path);
    std::string error;
    read_all(f, 1 << 16, &error);
    EXPECT_EQ(error.rfind("data file '" + path + "': damaged gzip stream at about byte ", 0), 0u) << name << ": " << error;
    EXPECT_FALSE(f.truncated()) << name;
  }
  // Cuts: inside the header, at many points of the deflate data, inside the trailer.
  for (size_t cut = 1; cut < good.size(); cut += cut < 40 ? 3 : good.size() / 37 + 1) {
    const std::string path = write("cut.jsonl.gz", good.substr(0, cut));
    InflatingFile f(path);
    ASSERT_EQ(f.compressed(), cut >= 2) << cut;
    if (!f.compressed()) continue;
    std::string error;
    const std::string got = read_all(f, 1 << 16, &error);
    EXPECT_EQ(error, "") << cut;
    EXPECT_TRUE(f.truncated()) << cut;
    EXPECT_TRUE(is_text(got, true)) << cut;
    EXPECT_LT(got.size(), text_.size() + (cut + 8 >= good.size() ? 1 : 0)) << cut;
  }
  const std::string last = write("last.jsonl.gz", good.substr(0, good.size() - 1));
  InflatingFile f(last);
  EXPECT_TRUE(is_text(read_all(f, 1 << 16)));  // only the trailer's last byte missing
  EXPECT_TRUE(f.truncated());
}

}  // namespace
