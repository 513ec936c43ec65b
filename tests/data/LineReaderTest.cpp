// LineReader (factored out of JsonlReader) and the UTF-8 helpers the readers count with.
#include <gtest/gtest.h>
#include <unistd.h>

#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/JsonlReader.h"
#include "data/LineReader.h"
#include "data/Utf8.h"
#include "dist/Check.h"

namespace fs = std::filesystem;
using namespace ptuner::data;

TEST(LineReaderTest, CrlfBomAndLastLineWithoutNewline) {
  const fs::path path =
      fs::temp_directory_path() / ("ptuner_line_reader_" + std::to_string(::getpid()) + ".txt");
  std::ofstream(path, std::ios::binary) << "\xEF\xBB\xBFone\r\n\ntwo\r\nthree";
  LineReader r(path.string());
  EXPECT_FALSE(r.compressed());
  std::vector<std::string> lines;
  std::string line;
  while (r.next(line)) lines.push_back(line);
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "", "two", "three"}));
  EXPECT_EQ(r.line_number(), 4);
  EXPECT_FALSE(r.next(line));
  r.rewind();
  ASSERT_TRUE(r.next(line));
  EXPECT_EQ(line, "one");
  EXPECT_EQ(r.line_number(), 1);
  fs::remove(path);
  EXPECT_THROW(LineReader((fs::temp_directory_path() / "ptuner_no_such_file").string()),
               ptuner::Error);
}

// A gzip file that ends before its trailer (a cut download or copy) is damaged, also when the
// cut falls on a line boundary: its complete lines are served, then an error names the file and
// the last complete line, under either on-error policy; the cut line is never returned.
TEST(LineReaderTest, ATruncatedGzipIsAnErrorNotAShortFile) {
  const fs::path dir = fs::temp_directory_path() / ("ptuner_line_reader_gz_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::vector<std::string> lines;
  for (int i = 1; i <= 3000; ++i)
    lines.push_back("{\"inputs\": \"record " + std::to_string(i) + " " + std::string(40 + i % 50, 'a' + i % 26) +
                    "\", \"targets\": \"x\"}");
  // Compressed with a full flush after line 1000, so that a cut there ends on a line boundary.
  const std::string full = (dir / "full.jsonl.gz").string();
  int64_t flushed_at = 0;
  {
    gzFile f = gzopen(full.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::string l = lines[i] + "\n";
      ASSERT_EQ(gzwrite(f, l.data(), static_cast<unsigned>(l.size())), static_cast<int>(l.size()));
      if (i + 1 == 1000) {
        ASSERT_EQ(gzflush(f, Z_FULL_FLUSH), Z_OK);
        flushed_at = static_cast<int64_t>(fs::file_size(full));
      }
    }
    ASSERT_EQ(gzclose(f), Z_OK);
  }
  std::string bytes;
  {
    std::ifstream in(full, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto read_all = [](const std::string& path, std::vector<std::string>& got) {
    LineReader r(path);
    std::string line;
    while (r.next(line)) got.push_back(line);
  };
  std::vector<std::string> got;
  read_all(full, got);
  EXPECT_EQ(got, lines);

  // Cut at the flush (1000 whole lines, no trailer), in the middle, and 1 byte short of the end
  // (only the trailer's last byte missing).
  for (const int64_t cut : {flushed_at, static_cast<int64_t>(bytes.size()) * 6 / 10,
                            static_cast<int64_t>(bytes.size()) - 1}) {
    const std::string path = (dir / ("cut-" + std::to_string(cut) + ".jsonl.gz")).string();
    std::ofstream(path, std::ios::binary) << bytes.substr(0, static_cast<size_t>(cut));
    got.clear();
    std::string error;
    try {
      read_all(path, got);
    } catch (const ptuner::Error& e) {
      error = e.what();
    }
    ASSERT_FALSE(got.empty());
    if (cut == flushed_at) {
      EXPECT_EQ(got.size(), 1000u);
    }
    if (cut == static_cast<int64_t>(bytes.size()) - 1) {
      EXPECT_EQ(got.size(), lines.size());
    }
    // Every line served is whole.
    EXPECT_EQ(got, std::vector<std::string>(lines.begin(), lines.begin() + static_cast<long>(got.size())));
    EXPECT_EQ(error, "LineReader: " + path +
                         ": the gzip stream ends without its trailer (the file is truncated or damaged); line " +
                         std::to_string(got.size()) + " is the last complete one");
    // A reader that skips malformed records still stops there.
    for (const auto policy : {OnError::Skip, OnError::Fail}) {
      JsonlReader r(path, policy);
      TextToTextExample ex;
      try {
        while (r.next(ex)) {
        }
        ADD_FAILURE() << "no error for " << path;
      } catch (const ptuner::Error& e) {
        EXPECT_NE(std::string(e.what()).find("ends without its trailer"), std::string::npos) << e.what();
      }
    }
  }
  fs::remove_all(dir);
}

TEST(LineReaderTest, Utf8CodePoints) {
  const std::string s = "Zürich €5";  // ü: 2 bytes, €: 3 bytes
  EXPECT_EQ(utf8::length(s), 9);
  EXPECT_EQ(utf8::byte_offset(s, 2), 3u);
  EXPECT_EQ(utf8::byte_offset(s, 9), s.size());
  EXPECT_EQ(utf8::byte_offset(s, 10), std::string::npos);
  EXPECT_EQ(utf8::substr(s, 7, 9), "€5");
  EXPECT_EQ(utf8::lower("ÀÉÎ ÕÜ ŁŽ ΑΣΩ ДЖЯ × ẞ"), "àéî õü łž ασω джя × ẞ");
  EXPECT_EQ(utf8::length(std::string("a\xFF" "b")), 3);  // an invalid byte counts as one
}
