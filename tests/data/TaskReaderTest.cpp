// The task registry and the reader's edge cases: unknown tasks, missing and empty files, the
// Fail / Skip policy with "path:line: reason", unlabeled rows, gzip, rewind.
#include <gtest/gtest.h>

#include "tests/TempDirTest.h"
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "data/TaskReader.h"
#include "dist/Check.h"
#include "tests/data/ReaderTestSupport.h"

namespace fs = std::filesystem;
using namespace ptuner::data;

using reader_testing::drain;
using reader_testing::read_all;
using reader_testing::reason_of;

namespace {

const std::string kFixtures = std::string(PTUNER_FIXTURES) + "/data/";

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ptuner::Error& e) {
    return e.what();
  }
  return "no error";
}


}  // namespace

using TaskReaderTest = ptuner::testing::TempDirTest;

TEST_F(TaskReaderTest, RegistryKnowsEveryTask) {
  EXPECT_EQ(known_task_names(),
            "boolq, cb, copa, multirc, record, rte, wic, wsc, axb, axg, mrqa, cola, sst2, mrpc, qqp, "
            "stsb, mnli, qnli, glue_rte, wnli, jsonl");
  EXPECT_EQ(task_spec("cb").labels,
            (std::vector<std::string>{"entailment", "contradiction", "neutral"}));
  EXPECT_EQ(task_spec("multirc").metrics, (std::vector<std::string>{"f1", "exact_match"}));
  const std::string e = error_of([] { task_spec("sst-2"); });
  EXPECT_NE(e.find("unknown task 'sst-2' (known: boolq, cb, copa"), std::string::npos) << e;
  const std::string e2 =
      error_of([] { TaskReader::open("BoolQ", "x.jsonl", OnError::Fail, false, false); });
  EXPECT_NE(e2.find("unknown task 'BoolQ'"), std::string::npos) << e2;
}

TEST_F(TaskReaderTest, MissingFileIsNamed) {
  const std::string path = (dir_ / "BoolQ" / "train.jsonl").string();
  const std::string e =
      error_of([&] { TaskReader::open("boolq", path, OnError::Fail, false, true); });
  EXPECT_NE(e.find("data file '" + path + "' does not exist"), std::string::npos) << e;
}

TEST_F(TaskReaderTest, FileWithoutRecordsFailsClearly) {
  const std::string empty = write("empty.jsonl", "\n   \n");
  auto r = TaskReader::open("boolq", empty, OnError::Fail, false, true);
  TextToTextExample ex;
  const std::string e = error_of([&] { r->next(ex); });
  EXPECT_NE(e.find("TaskReader (boolq): data file '" + empty + "' holds no examples"),
            std::string::npos)
      << e;
  // Every record malformed (skipped): the count is in the message.
  const std::string bad = write("bad.jsonl", "{\"question\": \"q\"}\nnot json\n");
  auto s = TaskReader::open("boolq", bad, OnError::Skip, false, true);
  const std::string e2 = error_of([&] { s->next(ex); });
  EXPECT_NE(e2.find("holds no examples (2 malformed records skipped)"), std::string::npos) << e2;
  // Test rows only, read for training: every row is refused.
  auto t = TaskReader::open("boolq", kFixtures + "BoolQ/test.jsonl", OnError::Skip, false, true);
  EXPECT_NE(error_of([&] { t->next(ex); }).find("holds no examples (2 malformed"),
            std::string::npos);
}

TEST_F(TaskReaderTest, FailNamesPathLineAndReason) {
  const std::string path = kFixtures + "RTE/val.jsonl";
  auto r = TaskReader::open("rte", path, OnError::Fail, false, false);
  TextToTextExample ex;
  ASSERT_TRUE(r->next(ex));
  ASSERT_TRUE(r->next(ex));
  EXPECT_EQ(r->line(), 2);
  const std::string e = error_of([&] { r->next(ex); });
  EXPECT_NE(e.find("malformed record at " + path + ":3: broken JSON"), std::string::npos) << e;
}

TEST_F(TaskReaderTest, SkipCountsKeepsReasonsAndLines) {
  const std::string path = kFixtures + "RTE/val.jsonl";
  auto r = TaskReader::open("rte", path, OnError::Skip, false, false);
  std::vector<int64_t> lines;
  const auto all = drain(*r, &lines);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(lines, (std::vector<int64_t>{1, 2, 5}));
  EXPECT_EQ(r->skipped(), 2);
  EXPECT_EQ(r->records(), 3);
  ASSERT_EQ(r->skip_reasons().size(), 2u);
  EXPECT_EQ(r->skip_reasons()[0].rfind(path + ":3: broken JSON", 0), 0u) << r->skip_reasons()[0];
  EXPECT_EQ(r->skip_reasons()[1],
            path + ":4: \"label\" is 'maybe', not one of entailment, not_entailment");
  r->rewind();
  EXPECT_EQ(r->skipped(), 0);
  EXPECT_EQ(r->line(), 0);
  EXPECT_EQ(drain(*r).size(), 3u);
  EXPECT_EQ(r->skipped(), 2);
}

TEST_F(TaskReaderTest, UnlabeledTestRowsForEvaluation) {
  auto r = TaskReader::open("boolq", kFixtures + "BoolQ/test.jsonl", OnError::Fail, false, false);
  const auto all = drain(*r);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].inputs,
            "passage: Ice -- Ice is less dense than liquid water. question: does ice float on "
            "water");
  EXPECT_EQ(all[0].targets, "");
  EXPECT_TRUE(all[0].answers.empty());
  EXPECT_EQ(all[1].id, "1");
}

TEST_F(TaskReaderTest, GzipAndBlankLinesAndJsonlTask) {
  const std::string text =
      "{\"question\": \"q1\", \"passage\": \"p1\", \"idx\": 0, \"label\": true}\r\n\r\n"
      "{\"question\": \"q2\", \"passage\": \"p2\", \"idx\": 1, \"label\": false}";
  const std::string path = (dir_ / "train.jsonl.gz").string();
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
  gzclose(f);
  auto r = TaskReader::open("boolq", path, OnError::Fail, true, true);
  EXPECT_TRUE(r->compressed());
  std::vector<int64_t> lines;
  const auto all = drain(*r, &lines);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].inputs, "boolq passage: p2 question: q2");
  EXPECT_EQ(lines, (std::vector<int64_t>{1, 3}));
  const std::string jsonl =
      write("t.jsonl", "{\"inputs\": \"a\", \"targets\": \"b\", \"id\": 4}\n");
  auto j = TaskReader::open("jsonl", jsonl, OnError::Fail, false, true);
  const auto tt = drain(*j);
  ASSERT_EQ(tt.size(), 1u);
  EXPECT_EQ(tt[0].inputs, "a");
  EXPECT_EQ(tt[0].answers, std::vector<std::string>{"b"});
  EXPECT_EQ(tt[0].id, "4");
  EXPECT_EQ(tt[0].task, "jsonl");
}
