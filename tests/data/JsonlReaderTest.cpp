#include <gtest/gtest.h>

#include "tests/TempDirTest.h"
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "data/JsonlReader.h"
#include "dist/Check.h"
#include "tests/data/ReaderTestSupport.h"

namespace fs = std::filesystem;
using ptuner::data::JsonlReader;
using ptuner::data::OnError;
using ptuner::data::TextToTextExample;

using ptuner::data::reader_testing::drain;

namespace {

const char* kGood =
    "{\"inputs\": \"review: a lovely film\", \"targets\": \"positive\", \"id\": \"r1\"}\n"
    "\n"
    "{\"inputs\": \"question: is ice cold?\", \"targets\": \"yes\", \"answers\": [\"yes\", "
    "\"Yes\"], \"id\": 7}\r\n"
    "   \n"
    "{\"targets\": \"no\", \"inputs\": \"question: can cats fly?\", \"extra\": [1, 2]}";  // no
                                                                                          // final
                                                                                          // newline


void expect_what_contains(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const ptuner::Error& e) {
    for (const auto& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

}  // namespace

class JsonlReaderTest : public ptuner::testing::TempDirTest {
 protected:
  std::string write_gz(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    gzFile f = gzopen(path.c_str(), "wb");
    EXPECT_NE(f, nullptr);
    EXPECT_EQ(gzwrite(f, text.data(), static_cast<unsigned>(text.size())),
              static_cast<int>(text.size()));
    gzclose(f);
    return path;
  }
  void check_good(JsonlReader& r) {
    std::vector<int64_t> lines;
    const auto all = drain(r, &lines);
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(lines, (std::vector<int64_t>{1, 3, 5}));
    EXPECT_EQ(all[0].inputs, "review: a lovely film");
    EXPECT_EQ(all[0].targets, "positive");
    EXPECT_EQ(all[0].answers, std::vector<std::string>{"positive"});
    EXPECT_EQ(all[0].id, "r1");
    EXPECT_EQ(all[1].targets, "yes");
    EXPECT_EQ(all[1].answers, (std::vector<std::string>{"yes", "Yes"}));
    EXPECT_EQ(all[1].id, "7");
    EXPECT_EQ(all[2].inputs, "question: can cats fly?");
    EXPECT_EQ(all[2].targets, "no");
    EXPECT_EQ(all[2].id, "");
    EXPECT_EQ(r.skipped(), 0);
  }
};

TEST_F(JsonlReaderTest, ReadsPlainFile) {
  JsonlReader r(write("good.jsonl", kGood), OnError::Fail);
  EXPECT_FALSE(r.compressed());
  check_good(r);
  TextToTextExample ex;
  EXPECT_FALSE(r.next(ex));  // stays at the end
}

TEST_F(JsonlReaderTest, ReadsGzipFileByMagicBytes) {
  // The name says nothing: gzip is recognised by its first bytes.
  JsonlReader r(write_gz("good.data", kGood), OnError::Fail);
  EXPECT_TRUE(r.compressed());
  check_good(r);
}

TEST_F(JsonlReaderTest, RewindStartsAgain) {
  JsonlReader r(write_gz("good.jsonl.gz", kGood), OnError::Fail);
  const auto first = drain(r);
  r.rewind();
  EXPECT_EQ(r.line(), 0);
  check_good(r);
  ASSERT_EQ(first.size(), 3u);
}

TEST_F(JsonlReaderTest, LongLinesAcrossChunks) {
  const std::string big(300000, 'x');
  const std::string text = "{\"inputs\": \"" + big + "\", \"targets\": \"t1\"}\n" +
                           "{\"inputs\": \"short\", \"targets\": \"" + big + "y\"}\n";
  for (const std::string& path : {write("long.jsonl", text), write_gz("long.jsonl.gz", text)}) {
    JsonlReader r(path, OnError::Fail);
    const auto all = drain(r);
    ASSERT_EQ(all.size(), 2u) << path;
    EXPECT_EQ(all[0].inputs, big);
    EXPECT_EQ(all[0].targets, "t1");
    EXPECT_EQ(all[1].targets, big + "y");
  }
}

TEST_F(JsonlReaderTest, BrokenJsonFailsNamingPathAndLine) {
  const std::string path = write("broken.jsonl",
                                 "{\"inputs\": \"a\", \"targets\": \"b\"}\n"
                                 "{\"inputs\": \"c\", \"targets\": \"d\"}\n"
                                 "{\"inputs\": \"e\", \"targets\": \n"
                                 "{\"inputs\": \"g\", \"targets\": 1e999999}\n");
  JsonlReader r(path, OnError::Fail);
  TextToTextExample ex;
  ASSERT_TRUE(r.next(ex));
  ASSERT_TRUE(r.next(ex));
  expect_what_contains([&] { r.next(ex); }, {path + ":3", "broken JSON"});
  // Found by fuzzing: a number too large for a double (nlohmann's out_of_range) is broken JSON too.
  const std::string huge = write("huge.jsonl", "{\"inputs\": \"g\", \"targets\": 1e999999}\n");
  JsonlReader h(huge, OnError::Fail);
  expect_what_contains([&] { h.next(ex); }, {huge + ":1", "broken JSON"});
}

TEST_F(JsonlReaderTest, SkipModeCountsAndGoesOn) {
  const std::string path = write("broken.jsonl",
                                 "{\"inputs\": \"a\", \"targets\": \"b\"}\n"
                                 "{\"inputs\": \"c\", \"targets\": \"d\"}\n"
                                 "{\"inputs\": \"e\", \"targets\": \n"
                                 "{\"inputs\": \"g\", \"targets\": \"h\"}\n");
  JsonlReader r(path, OnError::Skip);
  std::vector<int64_t> lines;
  const auto all = drain(r, &lines);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2].inputs, "g");
  EXPECT_EQ(lines, (std::vector<int64_t>{1, 2, 4}));
  EXPECT_EQ(r.skipped(), 1);
  ASSERT_EQ(r.skip_reasons().size(), 1u);
  EXPECT_NE(r.skip_reasons()[0].find(path + ":3: broken JSON"), std::string::npos)
      << r.skip_reasons()[0];
  r.rewind();
  EXPECT_EQ(r.skipped(), 0);
  EXPECT_EQ(drain(r).size(), 3u);
  EXPECT_EQ(r.skipped(), 1);
}

TEST_F(JsonlReaderTest, MissingOrWrongFields) {
  struct Case {
    std::string line;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"{\"inputs\": \"a\"}", "missing \"targets\""},
      {"{\"targets\": \"a\"}", "missing \"inputs\""},
      {"{\"inputs\": 3, \"targets\": \"a\"}", "\"inputs\" is a JSON number, not a string"},
      {"{\"inputs\": \"a\", \"targets\": null}", "\"targets\" is a JSON null, not a string"},
      {"[\"inputs\", \"targets\"]", "not an object"},
      {"{\"inputs\": \"a\", \"targets\": \"b\", \"answers\": \"b\"}",
       "\"answers\" is a JSON string"},
      {"{\"inputs\": \"a\", \"targets\": \"b\", \"answers\": [1]}",
       "\"answers\" holds a JSON number"},
      {"{\"inputs\": \"a\", \"targets\": \"b\", \"id\": 1.5}", "\"id\" is a JSON number"},
  };
  for (const auto& c : cases) {
    const std::string path =
        write("bad.jsonl", "{\"inputs\": \"x\", \"targets\": \"y\"}\n" + c.line + "\n");
    JsonlReader r(path, OnError::Fail);
    TextToTextExample ex;
    ASSERT_TRUE(r.next(ex));
    expect_what_contains([&] { r.next(ex); }, {path + ":2: ", c.reason});
  }
}

TEST_F(JsonlReaderTest, SkipKeepsTheFirstTenReasons) {
  std::string text;
  for (int i = 0; i < 15; ++i) text += "{\"inputs\": \"only\"}\n";
  text += "{\"inputs\": \"a\", \"targets\": \"b\"}\n";
  JsonlReader r(write("many.jsonl", text), OnError::Skip);
  const auto all = drain(r);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(r.line(), 16);
  EXPECT_EQ(r.skipped(), 15);
  ASSERT_EQ(r.skip_reasons().size(), 10u);
  EXPECT_NE(r.skip_reasons()[9].find("many.jsonl:10: missing \"targets\""), std::string::npos);
}

TEST_F(JsonlReaderTest, MissingFileIsNamed) {
  const std::string path = (dir_ / "nope.jsonl").string();
  expect_what_contains([&] { JsonlReader r(path, OnError::Skip); }, {path});
}

TEST_F(JsonlReaderTest, EmptyFileHasNoRecords) {
  JsonlReader r(write("empty.jsonl", ""), OnError::Fail);
  TextToTextExample ex;
  EXPECT_FALSE(r.next(ex));
  EXPECT_EQ(r.line(), 0);
}

TEST_F(JsonlReaderTest, DamagedGzipThrows) {
  const std::string good = write_gz("good.jsonl.gz", std::string(kGood) + std::string(5000, '\n'));
  std::ifstream in(good, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  bytes.resize(bytes.size() / 2);  // truncated stream
  for (size_t i = 12; i < bytes.size(); ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  const std::string bad = write("bad.jsonl.gz", bytes);
  JsonlReader r(bad, OnError::Skip);
  EXPECT_TRUE(r.compressed());
  TextToTextExample ex;
  expect_what_contains(
      [&] {
        while (r.next(ex)) {
        }
      },
      {bad});
}
