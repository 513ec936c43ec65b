// Leaderboard files (data/Submission.h): the fixture test files read as each task, with chosen
// predictions, written as jiant writes the GLUE and SuperGLUE submissions.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "data/Submission.h"
#include "dist/Check.h"
#include "tests/data/ReaderTestSupport.h"

namespace ptuner::data {
namespace {

using reader_testing::read_all;

std::string submission_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Submission, SuperGlueFilesAreJsonLinesOfIdxAndLabel) {
  // BoolQ's test split (no labels): lowercase booleans; an illegal prediction is the first label.
  const auto boolq = read_all("boolq", "BoolQ/test.jsonl");
  ASSERT_EQ(boolq.size(), 2u);
  auto s = leaderboard_submission("boolq", "BoolQ/test.jsonl", boolq, {" True\n", "maybe"});
  EXPECT_EQ(s.file_name, "BoolQ.jsonl");
  EXPECT_EQ(s.text, "{\"idx\":0,\"label\":\"true\"}\n{\"idx\":1,\"label\":\"false\"}\n");
  EXPECT_EQ(s.records, 2);
  EXPECT_EQ(s.not_a_label, 1);
  EXPECT_EQ(s.written_instead, "false");
  // COPA: 0 for choice1, 1 for choice2, as numbers.
  const auto copa = read_all("copa", "COPA/val.jsonl");
  ASSERT_EQ(copa.size(), 3u);
  s = leaderboard_submission("copa", "COPA/test.jsonl", copa, {"choice2", "choice1", "choice2"});
  EXPECT_EQ(s.text, "{\"idx\":0,\"label\":1}\n{\"idx\":1,\"label\":0}\n{\"idx\":2,\"label\":1}\n");
  EXPECT_EQ(s.not_a_label, 0);
  // AX-b: RTE's labels as text.
  const auto axb = read_all("axb", "AX-b/AX-b.jsonl");
  s = leaderboard_submission("axb", "AX-b.jsonl", axb, std::vector<std::string>(axb.size(), "not_entailment"));
  EXPECT_EQ(s.file_name, "AX-b.jsonl");
  EXPECT_NE(s.text.find("\"label\":\"not_entailment\""), std::string::npos);
  // WSC: "True" where the generated text names the candidate (T5's wsc_simple), capitalised.
  const auto wsc = read_all("wsc", "WSC/val.jsonl");
  ASSERT_GE(wsc.size(), 2u);
  std::vector<std::string> named;
  for (const auto& ex : wsc) named.push_back(ex.targets);
  named[1] = "the";  // a determiner alone names nothing
  s = leaderboard_submission("wsc", "WSC/test.jsonl", wsc, named);
  const auto first = nlohmann::json::parse(s.text.substr(0, s.text.find('\n')));
  EXPECT_EQ(first["label"], "True");
  EXPECT_EQ(first["idx"], nlohmann::json::parse(wsc[0].id));
  EXPECT_NE(s.text.find("\"label\":\"False\""), std::string::npos);
}

TEST(Submission, MultiRcNestsAnswersInQuestionsInPassagesAndReCoRDWritesAQueryOnce) {
  const auto multirc = read_all("multirc", "MultiRC/test.jsonl");
  ASSERT_EQ(multirc.size(), 2u);  // one passage, one question, two answers
  const auto s = leaderboard_submission("multirc", "MultiRC/test.jsonl", multirc, {"True", "False"});
  EXPECT_EQ(s.file_name, "MultiRC.jsonl");
  EXPECT_EQ(s.text,
            "{\"idx\":0,\"passage\":{\"questions\":[{\"answers\":[{\"idx\":0,\"label\":1},{\"idx\":1,\"label\":0}],"
            "\"idx\":0}]}}\n");
  EXPECT_EQ(s.records, 1);
  // ReCoRD: one line per query with the predicted entity's text, whatever it is.
  auto record = read_all("record", "ReCoRD/val.jsonl", false, false, OnError::Skip);  // its line 2 is damaged
  ASSERT_FALSE(record.empty());
  std::vector<std::string> predictions(record.size(), "Denver Broncos");
  const auto r = leaderboard_submission("record", "ReCoRD/test.jsonl", record, predictions);
  std::set<std::string> queries;
  for (const auto& ex : record) queries.insert(ex.id);
  EXPECT_EQ(r.records, static_cast<int64_t>(queries.size()));
  EXPECT_NE(r.text.find("\"label\":\"Denver Broncos\""), std::string::npos);
  EXPECT_EQ(r.not_a_label, 0);
}

TEST(Submission, GlueFilesAreTsvOfIndexAndPrediction) {
  const auto sst2 = read_all("sst2", "SST-2/test.tsv");
  ASSERT_EQ(sst2.size(), 2u);
  auto s = leaderboard_submission("sst2", "SST-2/test.tsv", sst2, {"positive", "negative"});
  EXPECT_EQ(s.file_name, "SST-2.tsv");
  EXPECT_EQ(s.text, "index\tprediction\n0\t1\n1\t0\n");
  // QQP's index is its "id" column.
  const auto qqp = read_all("qqp", "QQP/test.tsv");
  s = leaderboard_submission("qqp", "QQP/test.tsv", qqp, {"duplicate", "not_duplicate"});
  EXPECT_EQ(s.text, "index\tprediction\n" + qqp[0].id + "\t1\n" + qqp[1].id + "\t0\n");
  // STS-B: the score clipped to [0, 5], three decimals; a non-number is counted.
  const auto stsb = read_all("stsb", "STS-B/test.tsv");
  ASSERT_EQ(stsb.size(), 1u);
  s = leaderboard_submission("stsb", "STS-B/test.tsv", stsb, {"5.4"});
  EXPECT_EQ(s.text, "index\tprediction\n0\t5.000\n");
  s = leaderboard_submission("stsb", "STS-B/test.tsv", stsb, {"3.8"});
  EXPECT_EQ(s.text, "index\tprediction\n0\t3.800\n");
  s = leaderboard_submission("stsb", "STS-B/test.tsv", stsb, {"high"});
  EXPECT_EQ(s.not_a_label, 1);
  // MNLI's reader serves three files: told apart by the test file's name.
  const auto mnli = read_all("mnli", "MNLI/test_matched.tsv");
  ASSERT_EQ(mnli.size(), 1u);
  s = leaderboard_submission("mnli", "glue/MNLI/test_matched.tsv", mnli, {"neutral"});
  EXPECT_EQ(s.file_name, "MNLI-m.tsv");
  EXPECT_EQ(s.text, "index\tprediction\n0\tneutral\n");
  EXPECT_EQ(leaderboard_submission("mnli", "glue/MNLI/test_mismatched.tsv", mnli, {"neutral"}).file_name,
            "MNLI-mm.tsv");
  EXPECT_EQ(leaderboard_submission("mnli", "glue/diagnostic/AX.tsv", mnli, {"neutral"}).file_name, "AX.tsv");
}

TEST(Submission, TasksWithoutALeaderboardAndMismatchedSizesAreRefused) {
  EXPECT_FALSE(has_leaderboard_file("jsonl"));
  EXPECT_FALSE(has_leaderboard_file("mrqa"));
  EXPECT_TRUE(has_leaderboard_file("glue_rte"));
  EXPECT_NE(submission_error([] { leaderboard_submission("mrqa", "x", {}, {}); })
                .find("task 'mrqa' has no GLUE or SuperGLUE leaderboard file"),
            std::string::npos);
  const auto boolq = read_all("boolq", "BoolQ/test.jsonl");
  EXPECT_NE(submission_error([&] { leaderboard_submission("boolq", "x", boolq, {"True"}); })
                .find("2 examples but 1 predictions"),
            std::string::npos);
}

}  // namespace
}  // namespace ptuner::data
