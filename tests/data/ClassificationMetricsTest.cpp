// Accuracy, binary F1 with illegal predictions, and macro F1, against values worked out by hand.
#include <gtest/gtest.h>

#include "data/ClassificationMetrics.h"
#include "dist/Check.h"

using namespace ptuner::data;

TEST(ClassificationMetricsTest, AccuracyTrimsButKeepsCase) {
  // "True" hit, " False\n" hit after trimming, "true" miss (case), "maybe" miss -> 2 / 4.
  EXPECT_DOUBLE_EQ(accuracy({"True", " False\n", "true", "maybe"}, {"True", "False", "True", "False"}),
                   0.5);
  EXPECT_DOUBLE_EQ(accuracy({}, {}), 0.0);
  EXPECT_THROW(accuracy({"a"}, {}), ptuner::Error);
}

TEST(ClassificationMetricsTest, BinaryF1CountsIllegalPredictionsAsWrong) {
  // gold      eq   eq   not  not  eq    not
  // predicted eq   not  eq   not  junk  junk
  //           TP   FN   FP   TN   FN    FP     -> F1 = 2*1 / (2*1 + 2 + 2) = 1/3
  const std::vector<std::string> gold = {"equivalent",     "equivalent", "not_equivalent",
                                         "not_equivalent", "equivalent", "not_equivalent"};
  const std::vector<std::string> pred = {"equivalent",     "not_equivalent", "equivalent",
                                         "not_equivalent", "junk",           "junk"};
  EXPECT_NEAR(binary_f1(pred, gold, "equivalent"), 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(accuracy(pred, gold), 2.0 / 6.0, 1e-12);
  // No positive anywhere: 0 (sklearn's zero_division).
  EXPECT_DOUBLE_EQ(binary_f1({"not_equivalent"}, {"not_equivalent"}, "equivalent"), 0.0);
  EXPECT_DOUBLE_EQ(binary_f1({"equivalent", "not_equivalent"}, {"equivalent", "not_equivalent"},
                             "equivalent"),
                   1.0);
}

TEST(ClassificationMetricsTest, MacroF1OverThreeClasses) {
  // gold      e  e  c  n  n
  // predicted e  c  c  e  x
  // e: TP 1, FP 1 (row 3), FN 1 (row 1) -> 2/4 = 1/2
  // c: TP 1, FP 1 (row 1), FN 0         -> 2/3
  // n: TP 0, FP 0, FN 2                 -> 0
  // macro = (1/2 + 2/3 + 0) / 3 = 7/18
  const std::vector<std::string> classes = {"entailment", "contradiction", "neutral"};
  const std::vector<std::string> gold = {"entailment", "entailment", "contradiction", "neutral",
                                         "neutral"};
  const std::vector<std::string> pred = {"entailment", "contradiction", "contradiction",
                                         "entailment", "x"};
  EXPECT_NEAR(macro_f1(pred, gold, classes), 7.0 / 18.0, 1e-12);
  EXPECT_NEAR(accuracy(pred, gold), 0.4, 1e-12);
}
