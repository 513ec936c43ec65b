// LineReader (factored out of JsonlReader) and the UTF-8 helpers the readers count with.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

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
