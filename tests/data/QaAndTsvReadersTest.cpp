// MRQA (gzip with its header line) and the GLUE TSV files (MRPC, QQP), checked against strings
// written out by hand from tests/fixtures/data.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "data/GlueTsvFormat.h"
#include "data/TaskReader.h"
#include "data/T5Text.h"
#include "dist/Check.h"
#include "tests/data/ReaderTestSupport.h"

using namespace ptuner::data;

using reader_testing::drain;
using reader_testing::read_all;
using reader_testing::reason_of;

namespace {

const std::string kFixtures = reader_testing::fixture("");


}  // namespace

TEST(QaAndTsvReadersTest, PadPunctuationAsT5) {
  EXPECT_EQ(t5_text::pad_punctuation("U.S. (2)"), "U . S . ( 2 ) ");
  EXPECT_EQ(t5_text::pad_punctuation("24\u201310 caf\u00e9"), "24 \u2013 10 caf \u00e9 ");
  EXPECT_EQ(t5_text::pad_punctuation("a_b\t\tc\n"), "a_b c ");
  EXPECT_EQ(t5_text::join({"question:", "Why ? ", "context:", " x "}),
            "question: Why ? context: x ");
  EXPECT_EQ(t5_text::normalize_python_whitespace("a \u00a0\n b\u2009c"), "a b c");
}

TEST(QaAndTsvReadersTest, MrqaGzipWithHeader) {
  const std::string path = kFixtures + "MRQA/SQuAD-dev.jsonl.gz";
  auto r = TaskReader::open("mrqa", path, OnError::Skip, false, false);
  std::vector<int64_t> lines;
  const auto ex = drain(*r, &lines);
  EXPECT_TRUE(r->compressed());
  ASSERT_EQ(ex.size(), 3u);
  EXPECT_EQ(lines, (std::vector<int64_t>{2, 2, 4}));
  EXPECT_EQ(r->records(), 2);  // the header is not a record
  ASSERT_EQ(r->skipped(), 1);
  EXPECT_EQ(r->skip_reasons()[0], path + ":3: missing \"qas\"");
  const std::string context =
      "Super Bowl 50 was an American football game . The Denver Broncos ( AFC ) defeated the "
      "Carolina Panthers 24 \u2013 10 . It was played in Santa Clara , California . ";
  EXPECT_EQ(ex[0].inputs, "question: Which team won Super Bowl 50 ? context: " + context);
  EXPECT_EQ(ex[0].targets, "Denver Broncos");
  EXPECT_EQ(ex[0].answers, (std::vector<std::string>{"Denver Broncos", "the Denver Broncos"}));
  EXPECT_EQ(ex[0].id, "q1");
  EXPECT_EQ(ex[0].group, "ctx-1");
  EXPECT_EQ(ex[0].task, "mrqa");
  EXPECT_EQ(ex[1].inputs, "question: Where was it played ? context: " + context);
  EXPECT_EQ(ex[1].targets, "Santa Clara , California");
  EXPECT_EQ(ex[1].answers, (std::vector<std::string>{"Santa Clara , California", "Santa Clara"}));
  // Nothing detected: the first answer is the target.
  EXPECT_EQ(ex[2].inputs, "question: What is 2 + 2 ? context: Two plus two is four . ");
  EXPECT_EQ(ex[2].targets, "4");
  // task_prefix changes nothing (T5's SQuAD format has no task name).
  auto p = TaskReader::open("mrqa", path, OnError::Skip, true, true);
  EXPECT_EQ(drain(*p)[2].inputs, ex[2].inputs);
}

TEST(QaAndTsvReadersTest, MrpcTsvWithBareQuotesAndBadRows) {
  const std::string path = kFixtures + "MRPC/dev.tsv";
  auto r = TaskReader::open("mrpc", path, OnError::Skip, false, true);
  std::vector<int64_t> lines;
  const auto ex = drain(*r, &lines);
  ASSERT_EQ(ex.size(), 3u);
  EXPECT_EQ(lines, (std::vector<int64_t>{2, 3, 6}));
  EXPECT_EQ(ex[0].inputs,
            "sentence1: He said the foodservice pie business doesn't fit the company's long-term "
            "growth strategy. sentence2: \"The foodservice pie business does not fit our "
            "long-term growth strategy.");
  EXPECT_EQ(ex[0].targets, "equivalent");
  EXPECT_EQ(ex[1].targets, "not_equivalent");
  EXPECT_EQ(ex[0].id, "0");
  EXPECT_EQ(ex[2].id, "4");
  ASSERT_EQ(r->skip_reasons().size(), 2u);
  EXPECT_EQ(r->skip_reasons()[0], path + ":4: row has 4 tab-separated fields, the header has 5");
  EXPECT_EQ(r->skip_reasons()[1], path + ":5: \"Quality\" is '2', not 0 or 1");
  auto t = TaskReader::open("mrpc", kFixtures + "MRPC/test.tsv", OnError::Fail, true, false);
  const auto test = drain(*t);
  ASSERT_EQ(test.size(), 2u);
  EXPECT_EQ(test[0].inputs, "mrpc sentence1: PCCW's chief operating officer will leave. "
                            "sentence2: The COO of PCCW is leaving.");
  EXPECT_EQ(test[1].id, "1");
  EXPECT_EQ(test[1].targets, "");
  EXPECT_TRUE(test[1].answers.empty());
}

TEST(QaAndTsvReadersTest, QqpTsv) {
  auto r = TaskReader::open("qqp", kFixtures + "QQP/dev.tsv", OnError::Fail, true, true);
  const auto ex = drain(*r);
  ASSERT_EQ(ex.size(), 3u);
  EXPECT_EQ(ex[2].inputs, "qqp question1: Is there a reason why we should travel alone? "
                          "question2: What are some reasons to travel alone?");
  EXPECT_EQ(ex[2].targets, "duplicate");
  EXPECT_EQ(ex[0].targets, "not_duplicate");
  EXPECT_EQ(ex[0].id, "201359");
  EXPECT_EQ(ex[0].choices, (std::vector<std::string>{"not_duplicate", "duplicate"}));
  auto t = TaskReader::open("qqp", kFixtures + "QQP/test.tsv", OnError::Fail, false, false);
  const auto test = drain(*t);
  ASSERT_EQ(test.size(), 2u);
  EXPECT_EQ(test[1].inputs, "question1: Which one dissolve in water quikly sugar, salt, methane "
                            "and carbon di oxide? question2: Which fish would survive in salt "
                            "water?");
  EXPECT_EQ(test[1].label, "");
  // A test file cannot train; a header without the text columns fails the file, naming it.
  auto bad = TaskReader::open("qqp", kFixtures + "QQP/test.tsv", OnError::Skip, false, true);
  TextToTextExample one;
  EXPECT_THROW(bad->next(one), ptuner::Error);
  auto wrong = TaskReader::open("qqp", kFixtures + "MRPC/test.tsv", OnError::Skip, false, false);
  try {
    wrong->next(one);
    FAIL() << "no error";
  } catch (const ptuner::Error& e) {
    EXPECT_NE(std::string(e.what()).find(kFixtures + "MRPC/test.tsv:1: qqp header lacks the "
                                                     "column 'question1'"),
              std::string::npos)
        << e.what();
  }
}
