// MRQA (gzip with its header line) and the GLUE TSV files (CoLA, SST-2, MRPC, QQP, STS-B, MNLI,
// QNLI, RTE, WNLI), checked against strings
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

TEST(QaAndTsvReadersTest, ColaWithoutHeaderAndItsTestWithOne) {
  const std::string path = kFixtures + "CoLA/dev.tsv";
  auto r = TaskReader::open("cola", path, OnError::Skip, true, true);
  std::vector<int64_t> lines;
  const auto ex = drain(*r, &lines);
  // Line 1 is a row (CoLA's train / dev files have no header).
  ASSERT_EQ(ex.size(), 4u);
  EXPECT_EQ(lines, (std::vector<int64_t>{1, 2, 3, 6}));
  EXPECT_EQ(ex[0].inputs, "cola sentence: The sailors rode the breeze clear of the rocks.");
  EXPECT_EQ(ex[0].targets, "acceptable");
  EXPECT_EQ(ex[1].inputs, "cola sentence: The more we study verbs, the crazier they get and "
                          "\"weirder.");
  EXPECT_EQ(ex[1].targets, "unacceptable");
  EXPECT_EQ(ex[0].id, "0");
  EXPECT_EQ(ex[3].id, "5");  // data rows count from 0, skipped ones too
  EXPECT_EQ(ex[0].choices, (std::vector<std::string>{"unacceptable", "acceptable"}));
  ASSERT_EQ(r->skip_reasons().size(), 2u);
  EXPECT_EQ(r->skip_reasons()[0], path + ":4: \"label\" is '2', not 0 or 1");
  EXPECT_EQ(r->skip_reasons()[1], path + ":5: row has 3 tab-separated fields, the header has 4");
  auto t = TaskReader::open("cola", kFixtures + "CoLA/test.tsv", OnError::Fail, false, false);
  const auto test = drain(*t);
  ASSERT_EQ(test.size(), 2u);
  EXPECT_EQ(test[1].inputs, "sentence: The car honked its way down the road.");
  EXPECT_EQ(test[1].id, "1");
  EXPECT_EQ(test[1].label, "");
}

TEST(QaAndTsvReadersTest, Sst2AndWnliIndexLabels) {
  auto r = TaskReader::open("sst2", kFixtures + "SST-2/dev.tsv", OnError::Fail, true, true);
  const auto ex = drain(*r);
  ASSERT_EQ(ex.size(), 3u);
  // SST-2's sentences keep their tokenised spacing and trailing space, as T5 reads them.
  EXPECT_EQ(ex[0].inputs, "sst2 sentence: it 's a charming and often affecting journey . ");
  EXPECT_EQ(ex[0].targets, "positive");
  EXPECT_EQ(ex[1].targets, "negative");
  EXPECT_EQ(ex[2].id, "2");
  auto t = TaskReader::open("sst2", kFixtures + "SST-2/test.tsv", OnError::Fail, true, false);
  EXPECT_EQ(drain(*t)[0].inputs, "sst2 sentence: uneasy mishmash of styles and genres .");
  auto w = TaskReader::open("wnli", kFixtures + "WNLI/dev.tsv", OnError::Fail, true, true);
  const auto wnli = drain(*w);
  ASSERT_EQ(wnli.size(), 2u);
  EXPECT_EQ(wnli[0].inputs, "wnli sentence1: The drain is clogged with hair. It has to be "
                            "cleaned. sentence2: The hair has to be cleaned.");
  EXPECT_EQ(wnli[0].targets, "not_entailment");
  EXPECT_EQ(wnli[1].targets, "entailment");
}

TEST(QaAndTsvReadersTest, StsbTargetsRoundAsT5) {
  // tf.round(score * 5) / 5 in float32, half to even, "%.1f".
  EXPECT_EQ(GlueTsvFormat::stsb_target("5.000"), "5.0");
  EXPECT_EQ(GlueTsvFormat::stsb_target("4.750"), "4.8");   // 23.75 -> 24
  EXPECT_EQ(GlueTsvFormat::stsb_target("4.900"), "4.8");   // 24.5 -> 24 (even)
  EXPECT_EQ(GlueTsvFormat::stsb_target("0.500"), "0.4");   // 2.5 -> 2 (even)
  EXPECT_EQ(GlueTsvFormat::stsb_target("0.100"), "0.0");   // 0.5 -> 0 (even)
  EXPECT_EQ(GlueTsvFormat::stsb_target("0.300"), "0.4");   // 1.5 -> 2 (even)
  EXPECT_EQ(GlueTsvFormat::stsb_target("2.750"), "2.8");   // 13.75 -> 14
  EXPECT_EQ(GlueTsvFormat::stsb_target("3.6"), "3.6");
  EXPECT_EQ(GlueTsvFormat::stsb_target("0"), "0.0");
  const std::string path = kFixtures + "STS-B/dev.tsv";
  auto r = TaskReader::open("stsb", path, OnError::Skip, true, true);
  const auto ex = drain(*r);
  ASSERT_EQ(ex.size(), 6u);
  EXPECT_EQ(ex[0].inputs, "stsb sentence1: A man with a hard hat is dancing. sentence2: A man "
                          "wearing a hard hat is dancing.");
  std::vector<std::string> targets;
  for (const auto& e : ex) targets.push_back(e.targets);
  EXPECT_EQ(targets, (std::vector<std::string>{"5.0", "4.8", "4.8", "0.4", "0.0", "2.8"}));
  EXPECT_EQ(ex[5].id, "6");
  EXPECT_TRUE(ex[0].choices.empty());
  ASSERT_EQ(r->skip_reasons().size(), 1u);
  EXPECT_EQ(r->skip_reasons()[0], path + ":7: \"score\" is 'n/a', not a number");
  auto t = TaskReader::open("stsb", kFixtures + "STS-B/test.tsv", OnError::Fail, true, false);
  const auto test = drain(*t);
  ASSERT_EQ(test.size(), 1u);
  EXPECT_EQ(test[0].targets, "");
}

TEST(QaAndTsvReadersTest, MnliQnliAndGlueRte) {
  // MNLI: hypothesis (sentence2) before premise (sentence1), T5's sorted feature order; the
  // label is gold_label (train: 12 columns, dev: 16).
  const std::string dev = kFixtures + "MNLI/dev_matched.tsv";
  auto r = TaskReader::open("mnli", dev, OnError::Skip, true, true);
  const auto ex = drain(*r);
  ASSERT_EQ(ex.size(), 3u);
  EXPECT_EQ(ex[1].inputs, "mnli hypothesis: The Government Executive articles housed on the "
                          "website are not able to be searched. premise: This site includes a "
                          "list of all award winners and a searchable database of Government "
                          "Executive articles.");
  EXPECT_EQ(ex[1].targets, "contradiction");
  EXPECT_EQ(ex[2].targets, "entailment");  // label1..5 are not read: gold_label is
  EXPECT_EQ(ex[0].id, "0");
  EXPECT_EQ(ex[0].choices, (std::vector<std::string>{"entailment", "neutral", "contradiction"}));
  ASSERT_EQ(r->skip_reasons().size(), 1u);
  EXPECT_EQ(r->skip_reasons()[0],
            dev + ":5: \"gold_label\" is '-', not one of entailment, neutral, contradiction");
  auto train = TaskReader::open("mnli", kFixtures + "MNLI/train.tsv", OnError::Fail, false, true);
  const auto tr = drain(*train);
  ASSERT_EQ(tr.size(), 4u);
  EXPECT_EQ(tr[3].inputs, "hypothesis: He ran to the gate. premise: He walked \"slowly\" to the gate.");
  EXPECT_EQ(tr[3].targets, "contradiction");
  auto test = TaskReader::open("mnli", kFixtures + "MNLI/test_matched.tsv", OnError::Fail, true, false);
  EXPECT_EQ(drain(*test)[0].inputs, "mnli hypothesis: It rained. premise: Hours later the rain stopped.");

  const std::string qnli = kFixtures + "QNLI/dev.tsv";
  auto q = TaskReader::open("qnli", qnli, OnError::Skip, true, true);
  const auto qe = drain(*q);
  ASSERT_EQ(qe.size(), 2u);
  EXPECT_EQ(qe[0].inputs, "qnli question: What came into force after the new constitution was "
                          "herald? sentence: As of that day, the new constitution heralding the "
                          "Second Republic came into force.");
  EXPECT_EQ(qe[0].targets, "entailment");
  EXPECT_EQ(qe[1].targets, "not_entailment");
  EXPECT_EQ(q->skip_reasons().at(0),
            qnli + ":4: \"label\" is 'maybe', not one of entailment, not_entailment");

  // GLUE's RTE file is glue_rte ("rte sentence1: ... sentence2: ..."); "rte" (SuperGLUE's JSONL)
  // refuses a .tsv file, naming the GLUE tasks.
  const std::string rte = kFixtures + "RTE-GLUE/dev.tsv";
  auto g = TaskReader::open("glue_rte", rte, OnError::Fail, true, true);
  const auto ge = drain(*g);
  ASSERT_EQ(ge.size(), 2u);
  EXPECT_EQ(ge[1].inputs, "rte sentence1: Yet, we now are discovering that antibiotics are losing "
                          "their effectiveness against illness. sentence2: Bacteria is winning "
                          "the war against antibiotics.");
  EXPECT_EQ(ge[1].targets, "entailment");
  EXPECT_EQ(ge[0].targets, "not_entailment");
  try {
    TaskReader::open("rte", rte, OnError::Skip, true, true);
    FAIL() << "no error";
  } catch (const ptuner::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'" + rte + "' looks like a GLUE TSV file, but task 'rte' reads SuperGLUE "
                        "RTE/{train,val,test}.jsonl (the GLUE TSV tasks are cola, sst2, mrpc, qqp, "
                        "stsb, mnli, qnli, glue_rte, wnli; GLUE's RTE is glue_rte)"),
              std::string::npos)
        << what;
  }
}
