// compute_metrics per task, against values worked out by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "data/ClassificationMetrics.h"
#include "data/CorrelationMetrics.h"
#include "data/Metrics.h"
#include "dist/Check.h"

using namespace ptuner::data;

namespace {

TextToTextExample labeled(const std::string& label, const std::string& group = "") {
  TextToTextExample ex;
  ex.targets = label;
  ex.label = label;
  ex.answers = {label};
  ex.group = group;
  return ex;
}

}  // namespace

TEST(MetricsTest, AccuracyTasksIgnoreUnlabeledRows) {
  // BoolQ: hit, miss, hit, and an unlabeled row (not scored) -> 2 / 3.
  std::vector<TextToTextExample> ex = {labeled("True"), labeled("False"), labeled("False"),
                                       TextToTextExample{}};
  const auto m = compute_metrics("boolq", ex, {"True", "True", "False", "False"});
  EXPECT_NEAR(m.at("accuracy"), 2.0 / 3.0, 1e-12);
  EXPECT_EQ(m.at("examples"), 3);
  EXPECT_EQ(m.size(), 2u);
  for (const char* task : {"copa", "rte", "wic", "axb", "axg"})
    EXPECT_DOUBLE_EQ(compute_metrics(task, {labeled("x")}, {"x"}).at("accuracy"), 1.0) << task;
}

TEST(MetricsTest, CbAccuracyAndMacroF1) {
  // As ClassificationMetricsTest: accuracy 2/5, macro F1 7/18.
  std::vector<TextToTextExample> ex = {labeled("entailment"), labeled("entailment"),
                                       labeled("contradiction"), labeled("neutral"),
                                       labeled("neutral")};
  const auto m = compute_metrics(
      "cb", ex, {"entailment", "contradiction", "contradiction", "entailment", "x"});
  EXPECT_NEAR(m.at("accuracy"), 0.4, 1e-12);
  EXPECT_NEAR(m.at("f1_macro"), 7.0 / 18.0, 1e-12);
  EXPECT_EQ(m.at("examples"), 5);
}

TEST(MetricsTest, SizeMismatchAndUnknownTask) {
  try {
    compute_metrics("boolq", {labeled("True")}, {"True", "False"});
    FAIL() << "no error";
  } catch (const ptuner::Error& e) {
    EXPECT_NE(std::string(e.what()).find("1 examples but 2 predictions"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(compute_metrics("squad", {}, {}), ptuner::Error);
}

TEST(MetricsTest, MultiRcF1OverAnswersAndExactMatchPerQuestion) {
  // question g1: gold T F T, predicted T F F  -> question wrong
  // question g2: gold T F,   predicted T F    -> question right
  // question g3: gold T,     predicted "yes"  -> illegal: wrong (an FN)
  // answers: TP 2 (g1a0, g2a0), FN 2 (g1a2, g3a0), FP 0 -> F1 = 4 / 6; EM = 1 / 3.
  std::vector<TextToTextExample> ex = {labeled("True", "g1"),  labeled("False", "g1"),
                                       labeled("True", "g1"),  labeled("True", "g2"),
                                       labeled("False", "g2"), labeled("True", "g3")};
  const auto m = compute_metrics("multirc", ex, {"True", "False", "False", "True", "False", "yes"});
  EXPECT_NEAR(m.at("f1"), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(m.at("exact_match"), 1.0 / 3.0, 1e-12);
  EXPECT_EQ(m.at("examples"), 6);
}

TEST(MetricsTest, ReCoRDOnePredictionPerQueryMaxOverAnswers) {
  auto query = [](const std::string& group, std::vector<std::string> answers) {
    TextToTextExample e;
    e.group = group;
    e.answers = std::move(answers);
    e.targets = e.answers.front();
    return e;
  };
  // g1: "the Eiffel Tower" -> EM 1, F1 1 (its duplicate "junk" is not scored)
  // g2: "city of Paris, France" vs {"Paris", "the city of Paris"} -> EM 0, F1 max(0.4, 6/7)
  // g3: "Bridge Tower" vs "Tower Bridge" -> EM 0, F1 1 (same tokens)
  std::vector<TextToTextExample> ex = {query("g1", {"Eiffel Tower"}), query("g1", {"Eiffel Tower"}),
                                       query("g2", {"Paris", "the city of Paris"}),
                                       query("g3", {"Tower Bridge"})};
  const auto m = compute_metrics("record", ex,
                                 {"the Eiffel Tower", "junk", "city of Paris, France", "Bridge Tower"});
  EXPECT_NEAR(m.at("exact_match"), 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(m.at("f1"), (1.0 + 6.0 / 7.0 + 1.0) / 3.0, 1e-12);
  EXPECT_EQ(m.at("examples"), 3);
}

// T5's postprocessors.wsc_simple (t5/data/postprocessors.py), case by case: first the cases of
// T5's own test_wsc_simple, then each rule of its source.
TEST(MetricsTest, WscSimpleFollowsT5) {
  // test_wsc_simple.
  EXPECT_EQ(wsc_simple("potato", "turnip"), 0);
  EXPECT_EQ(wsc_simple("turnip", "turnip"), 1);
  EXPECT_EQ(wsc_simple("the cat", "cat"), 1);
  EXPECT_EQ(wsc_simple("Bob's hat", "Bob"), 0);
  EXPECT_EQ(wsc_simple("Bob's hat", "Bob's hat"), 1);
  EXPECT_EQ(wsc_simple("potato", "Potato"), 1);
  EXPECT_EQ(wsc_simple("a potato", "my potato"), 1);
  EXPECT_EQ(wsc_simple("fuzzy bunny", "fuzzy hungry bunny"), 1);
  EXPECT_EQ(wsc_simple("", "cat"), -1);
  EXPECT_EQ(wsc_simple("a this", "cat"), -1);
  // Nothing left after clean(): strip, lower, the determiners (all 21), single-space split.
  EXPECT_EQ(wsc_simple("  The  ", "cat"), -1);
  EXPECT_EQ(wsc_simple("the  the", "cat"), -1);  // ["the", "", "the"] -> "" -> -1
  EXPECT_EQ(wsc_simple("a an few her his each every many much my our some that the their these this "
                       "those which whose your",
                       "cat"),
            -1);
  // Subset either way; case; words kept with their punctuation; an empty word from two spaces.
  EXPECT_EQ(wsc_simple("the big fuzzy bunny", "bunny"), 1);
  EXPECT_EQ(wsc_simple("POTATO", "the potato"), 1);
  EXPECT_EQ(wsc_simple("Mark.", "Mark"), 0);
  EXPECT_EQ(wsc_simple("Mark,", "Mark"), 0);
  EXPECT_EQ(wsc_simple("the  cat", "cat"), 1);  // {"", "cat"} holds {"cat"}
  // str.strip() takes Unicode whitespace (a no-break space here); an invalid byte is not space.
  EXPECT_EQ(wsc_simple("\u00a0Mark\u00a0", "Mark"), 1);
  EXPECT_EQ(wsc_simple("\x85", "Mark"), 0);
}

TEST(MetricsTest, WscAccuracyCountsAnEmptyPredictionWrongForBothLabels) {
  auto wsc = [](const std::string& target, const std::string& label) {
    TextToTextExample e;
    e.targets = target;
    e.label = label;
    return e;
  };
  // T5: 1 is right for True, 0 for False, -1 for neither. "" on a False row was counted right
  // before (a model that emits EOS first scored 0.635 on WSC val), and is wrong in T5.
  auto m = compute_metrics("wsc", {wsc("Mark", "True"), wsc("Mark", "False"), wsc("Mark", "False")},
                           {"", "", "Pete"});
  EXPECT_NEAR(m.at("accuracy"), 1.0 / 3.0, 1e-12);
  // label False + another name: right; True + the referent: right; True + another: wrong;
  // False + determiners only: wrong; unlabeled: not scored -> 2 / 4.
  m = compute_metrics("wsc",
                      {wsc("Mark", "False"), wsc("The city councilmen", "True"), wsc("The magic pebble", "True"),
                       wsc("Mark", "False"), wsc("trophy", "")},
                      {"Pete", "the councilmen", "the safe", "the", "trophy"});
  EXPECT_NEAR(m.at("accuracy"), 2.0 / 4.0, 1e-12);
  EXPECT_EQ(m.at("examples"), 4);
}

TEST(MetricsTest, MrqaExactMatchAndF1) {
  auto qa = [](std::vector<std::string> answers) {
    TextToTextExample e;
    e.answers = std::move(answers);
    return e;
  };
  // "Denver Broncos ." -> EM 1, F1 1
  // "in Santa Clara" vs {"santa clara california" (F1 2/3), "santa clara" (P 2/3, R 1: 0.8)}
  // "five" vs {"4", "four"} -> 0, 0
  // EM = 1/3, F1 = (1 + 0.8 + 0) / 3 = 0.6; the unanswered question is not scored.
  const auto m = compute_metrics(
      "mrqa",
      {qa({"Denver Broncos", "the Denver Broncos"}), qa({"Santa Clara , California", "Santa Clara"}),
       qa({"4", "four"}), qa({})},
      {"Denver Broncos .", "in Santa Clara", "five", "x"});
  EXPECT_NEAR(m.at("exact_match"), 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(m.at("f1"), 0.6, 1e-12);
  EXPECT_EQ(m.at("examples"), 3);
}

TEST(MetricsTest, MrpcAndQqpAccuracyAndF1) {
  // gold eq, not, eq, not; predicted eq, eq, "Equivalent" (illegal), not:
  // accuracy 2/4; TP 1, FP 1, FN 1 -> F1 = 2 / 4.
  std::vector<TextToTextExample> ex = {labeled("equivalent"), labeled("not_equivalent"),
                                       labeled("equivalent"), labeled("not_equivalent")};
  const auto m =
      compute_metrics("mrpc", ex, {"equivalent", "equivalent", "Equivalent", "not_equivalent"});
  EXPECT_DOUBLE_EQ(m.at("accuracy"), 0.5);
  EXPECT_DOUBLE_EQ(m.at("f1"), 0.5);
  // QQP: duplicate is the positive class. TP 1, FN 1 -> F1 2/3, accuracy 2/3.
  const auto q = compute_metrics(
      "qqp", {labeled("duplicate"), labeled("duplicate"), labeled("not_duplicate")},
      {"duplicate", "not_duplicate", "not_duplicate"});
  EXPECT_NEAR(q.at("f1"), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(q.at("accuracy"), 2.0 / 3.0, 1e-12);
  // The JSONL task keeps plain exact match.
  TextToTextExample j;
  j.answers = {"yes", "Yes"};
  EXPECT_DOUBLE_EQ(compute_metrics("jsonl", {j, j}, {"Yes", "no"}).at("exact_match"), 0.5);
}

TEST(MetricsTest, ColaMatthewsAsSklearn) {
  // sklearn's matthews_corrcoef docstring: y_true [+1, +1, +1, -1], y_pred [+1, -1, +1, +1]
  // -> -0.33...
  EXPECT_NEAR(matthews_corr({"a", "b", "a", "a"}, {"a", "a", "a", "b"}, {"b", "a"}), -1.0 / 3.0,
              1e-12);
  // TP 6, TN 3, FP 1, FN 2: (6·3 − 1·2) / sqrt(7·8·4·5) = 16 / sqrt(1120).
  std::vector<std::string> gold, pred;
  const auto add = [&](const char* g, const char* p, int n) {
    for (int i = 0; i < n; ++i) gold.push_back(g), pred.push_back(p);
  };
  add("acceptable", "acceptable", 6);
  add("unacceptable", "unacceptable", 3);
  add("unacceptable", "acceptable", 1);
  add("acceptable", "unacceptable", 2);
  std::vector<TextToTextExample> ex;
  for (const auto& g : gold) ex.push_back(labeled(g));
  const auto m = compute_metrics("cola", ex, pred);
  EXPECT_NEAR(m.at("matthews_corr"), 16.0 / std::sqrt(1120.0), 1e-12);
  EXPECT_NEAR(m.at("accuracy"), 9.0 / 12.0, 1e-12);
  EXPECT_EQ(m.at("examples"), 12);
  // An illegal prediction is class -1 of its own (T5's string_label_to_class_id): gold 1 1 0 0,
  // predicted 1 -1 0 1 -> s 4, c 2, Σp·t = 2·2 + 1·2 = 6, Σp² = 6, Σt² = 8:
  // (2·4 − 6) / sqrt((16 − 6)(16 − 8)) = 2 / sqrt(80).
  const auto bad = compute_metrics(
      "cola",
      {labeled("acceptable"), labeled("acceptable"), labeled("unacceptable"), labeled("unacceptable")},
      {"acceptable", "Acceptable", "unacceptable", "acceptable"});
  EXPECT_NEAR(bad.at("matthews_corr"), 2.0 / std::sqrt(80.0), 1e-12);
  // One class only on a side: sklearn gives 0.
  EXPECT_EQ(matthews_corr({"a", "a"}, {"a", "b"}, {"a", "b"}), 0.0);
}

TEST(MetricsTest, StsbPearsonAndSpearmanAsScipy) {
  // scipy's docstrings: pearsonr([1, 2, 3, 4, 5], [10, 9, 2.5, 6, 4]) = -0.7426106572325057,
  // spearmanr([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) = 0.8207826816681233 (ties get mean ranks).
  EXPECT_NEAR(pearson({1, 2, 3, 4, 5}, {10, 9, 2.5, 6, 4}), -0.7426106572325057, 1e-12);
  EXPECT_NEAR(spearman({1, 2, 3, 4, 5}, {5, 6, 7, 8, 7}), 0.8207826816681233, 1e-12);
  EXPECT_EQ(pearson({1, 1, 1}, {1, 2, 3}), 0.0);  // constant side: 0, not NaN
  EXPECT_EQ(pearson({1}, {2}), 0.0);
  EXPECT_EQ(string_to_float(" 3.8 "), 3.8);
  EXPECT_EQ(string_to_float("1e1"), 10.0);
  EXPECT_EQ(string_to_float("four"), -1.0);
  EXPECT_EQ(string_to_float("0x10"), -1.0);
  EXPECT_EQ(string_to_float("nan"), -1.0);
  EXPECT_EQ(string_to_float(""), -1.0);
  // Gold 1..5 as STS-B targets, predictions the first pearson example's y with one illegal
  // prediction ("x" -> -1 as T5): pearsonr([1,2,3,4,5], [10, 9, 2.5, -1, 4]) by hand:
  // mean y = 4.9, Σdx·dy = -2·5.1 - 1·4.1 + 0 + 1·(-5.9) + 2·(-0.9) = -22, Σdx² = 10,
  // Σdy² = 26.01 + 16.81 + 5.76 + 34.81 + 0.81 = 84.2 -> -22 / sqrt(842).
  std::vector<TextToTextExample> ex;
  for (const char* g : {"1.0", "2.0", "3.0", "4.0", "5.0"}) ex.push_back(labeled(g));
  ex.push_back(TextToTextExample{});  // an unlabeled (test) row is not scored
  const auto m = compute_metrics("stsb", ex, {"10", "9", "2.5", "x", "4", "5"});
  EXPECT_NEAR(m.at("pearson"), -22.0 / std::sqrt(842.0), 1e-12);
  // Ranks: gold 1..5, predictions 5 4 2 1 3: Σd² = 16+4+1+9+4 = 34 -> 1 − 6·34 / 120 = -0.7.
  EXPECT_NEAR(m.at("spearman"), -0.7, 1e-12);
  EXPECT_EQ(m.at("examples"), 5);
  EXPECT_EQ(m.size(), 3u);
}
