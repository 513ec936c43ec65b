// T5's glue() formats for BoolQ, CB, COPA, RTE, WiC, AX-b and AX-g, checked against strings
// written out by hand from the fixtures in tests/fixtures/data.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "data/GlueJsonFormat.h"
#include "data/MalformedRecord.h"
#include "data/TaskReader.h"
#include "dist/Check.h"
#include "tests/data/ReaderTestSupport.h"

using namespace ptuner::data;

using reader_testing::drain;
using reader_testing::read_all;
using reader_testing::reason_of;

namespace {


std::string reason_of(const std::string& task, const std::string& line, bool is_training) {
  GlueJsonFormat f(task, false, is_training);
  return reader_testing::reason_of(f, line);
}

}  // namespace

TEST(GlueJsonFormatTest, BoolQPassageThenQuestion) {
  const auto ex = read_all("boolq", "BoolQ/val.jsonl");
  ASSERT_EQ(ex.size(), 3u);
  EXPECT_EQ(ex[0].inputs,
            "passage: Sky -- On a clear day the sky looks blue because air scatters short "
            "wavelengths. question: is the sky blue on a clear day");
  EXPECT_EQ(ex[0].targets, "True");
  EXPECT_EQ(ex[0].label, "True");
  EXPECT_EQ(ex[0].answers, std::vector<std::string>{"True"});
  EXPECT_EQ(ex[0].id, "0");
  EXPECT_EQ(ex[0].task, "boolq");
  EXPECT_EQ(ex[0].choices, (std::vector<std::string>{"False", "True"}));
  EXPECT_EQ(ex[1].targets, "False");
  EXPECT_EQ(ex[2].id, "2");
  const auto prefixed = read_all("boolq", "BoolQ/val.jsonl", /*task_prefix=*/true);
  EXPECT_EQ(prefixed[1].inputs,
            "boolq passage: Penguin -- Penguins are flightless birds that live in the Southern "
            "Hemisphere. question: can penguins fly");
}

TEST(GlueJsonFormatTest, CbHypothesisThenPremise) {
  const auto ex = read_all("cb", "CB/val.jsonl", true);
  ASSERT_EQ(ex.size(), 3u);
  EXPECT_EQ(ex[1].inputs,
            "cb hypothesis: the train had left premise: She said the train had left. I doubt it "
            "had.");
  EXPECT_EQ(ex[0].targets, "entailment");
  EXPECT_EQ(ex[1].targets, "contradiction");
  EXPECT_EQ(ex[2].targets, "neutral");
  EXPECT_EQ(ex[2].choices, (std::vector<std::string>{"entailment", "contradiction", "neutral"}));
}

TEST(GlueJsonFormatTest, CopaChoicesPremiseQuestion) {
  const auto ex = read_all("copa", "COPA/val.jsonl");
  ASSERT_EQ(ex.size(), 3u);
  EXPECT_EQ(ex[0].inputs,
            "choice1: The sun was rising. choice2: The grass was cut. premise: My body cast a "
            "shadow over the grass. question: cause");
  EXPECT_EQ(ex[0].targets, "choice1");
  EXPECT_EQ(ex[1].targets, "choice2");
  // Row 2 has no label: an unlabeled row, kept for evaluation.
  EXPECT_EQ(ex[2].targets, "");
  EXPECT_EQ(ex[2].label, "");
  EXPECT_TRUE(ex[2].answers.empty());
  EXPECT_EQ(ex[2].inputs.substr(ex[2].inputs.size() - 16), "question: effect");
}

TEST(GlueJsonFormatTest, RteAndTheDiagnosticsAsRte) {
  const auto rte = read_all("rte", "RTE/val.jsonl", true, false, OnError::Skip);
  ASSERT_EQ(rte.size(), 3u);  // a broken line and an unknown label skipped
  EXPECT_EQ(rte[0].inputs,
            "rte hypothesis: Christopher Reeve had an accident. premise: Dana Reeve, the widow of "
            "the actor Christopher Reeve, has died of lung cancer at age 44.");
  EXPECT_EQ(rte[0].targets, "not_entailment");
  const auto axb = read_all("axb", "AX-b/AX-b.jsonl", true);
  ASSERT_EQ(axb.size(), 2u);
  EXPECT_EQ(axb[0].inputs,
            "rte hypothesis: The cat did not sit on the mat. premise: The cat sat on the mat.");
  EXPECT_EQ(axb[0].targets, "not_entailment");
  EXPECT_EQ(axb[1].targets, "");  // no label
  EXPECT_EQ(axb[0].task, "axb");
  const auto axg = read_all("axg", "AX-g/AX-g.jsonl");
  ASSERT_EQ(axg.size(), 2u);
  EXPECT_EQ(axg[1].inputs,
            "hypothesis: The taxpayer sought help filing taxes. premise: The taxpayer met with the "
            "accountant to get help filing his taxes.");
  EXPECT_EQ(axg[1].targets, "entailment");
}

TEST(GlueJsonFormatTest, WicSentencesWordAndExclusiveCharacterSpans) {
  const auto ex = read_all("wic", "WiC/val.jsonl", true, false, OnError::Skip);
  ASSERT_EQ(ex.size(), 2u);  // row 2: end1 10 lies past "The bank." (9 characters)
  EXPECT_EQ(ex[0].inputs,
            "wic sentence1: Le café is where we place bets. sentence2: There is no place like "
            "home. word: place");
  EXPECT_EQ(ex[0].targets, "False");
  EXPECT_EQ(ex[1].targets, "True");
  // Offsets count code points: "café" is 4 characters (5 bytes); end 4 is its end, 5 is past.
  const std::string ok =
      R"({"word": "café", "sentence1": "café", "sentence2": "un café", "start1": 0, "end1": 4,)"
      R"( "start2": 3, "end2": 7, "label": true, "idx": 9})";
  EXPECT_EQ(reason_of("wic", ok, true), "");
  std::string past = ok;
  past.replace(past.find("\"end1\": 4"), 9, "\"end1\": 5");
  EXPECT_EQ(reason_of("wic", past, true),
            "\"start1\" 0 / \"end1\" 5 is not a span of \"sentence1\" (4 characters; end is "
            "exclusive)");
  std::string empty = ok;
  empty.replace(empty.find("\"start2\": 3"), 11, "\"start2\": 7");
  EXPECT_NE(reason_of("wic", empty, true).find("\"start2\" 7 / \"end2\" 7"), std::string::npos);
}

TEST(GlueJsonFormatTest, MalformedRecordsNameTheField) {
  EXPECT_EQ(reason_of("boolq", R"({"question": "q", "idx": 1, "label": true})", true),
            "missing \"passage\"");
  EXPECT_EQ(reason_of("boolq", R"({"question": 3, "passage": "p", "label": true})", true),
            "\"question\" is a JSON number, not a string");
  EXPECT_EQ(reason_of("boolq", R"({"question": "q", "passage": "p", "label": "yes"})", true),
            "\"label\" is a JSON string, not a boolean");
  EXPECT_EQ(reason_of("cb", R"({"premise": "p", "hypothesis": "h", "label": "maybe"})", true),
            "\"label\" is 'maybe', not one of entailment, contradiction, neutral");
  EXPECT_EQ(reason_of("copa",
                      R"({"premise": "p", "choice1": "a", "choice2": "b", "question": "cause",)"
                      R"( "label": 2})",
                      true),
            "\"label\" is 2, not in [0, 2)");
  EXPECT_EQ(reason_of("rte", R"({"premise": "p", "hypothesis": "h"})", true),
            "missing \"label\" (an unlabeled test row cannot train)");
  EXPECT_EQ(reason_of("rte", R"({"premise": "p", "hypothesis": "h"})", false), "");
  EXPECT_EQ(reason_of("rte", "[1, 2]", false), "record is a JSON array, not an object");
  EXPECT_NE(reason_of("rte", "{\"premise\": ", false).find("broken JSON"), std::string::npos);
  // Found by fuzzing: a number too large for a double is nlohmann's out_of_range, not parse_error.
  EXPECT_NE(reason_of("rte", "{\"label\": 88888888888888888888e887776}", false).find("broken JSON"),
            std::string::npos);
}
