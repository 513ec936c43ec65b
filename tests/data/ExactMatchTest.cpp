#include <gtest/gtest.h>

#include "data/ExactMatch.h"
#include "dist/Check.h"

using ptuner::data::exact_match;

TEST(ExactMatchTest, HandComputedFractions) {
  // hit ("yes"), hit (" no\n" trims to "no", second answer), miss (case differs),
  // hit (answer " 42 " trims to "42"), miss ("maybe" not gold) -> 3 / 5.
  const std::vector<std::string> predictions = {"yes", " no\n", "True", "42", "maybe"};
  const std::vector<std::vector<std::string>> answers = {
      {"yes"}, {"nope", "no"}, {"true"}, {" 42 "}, {"perhaps", "possibly"}};
  EXPECT_DOUBLE_EQ(exact_match(predictions, answers), 0.6);
  EXPECT_DOUBLE_EQ(exact_match({"a"}, {{"a"}}), 1.0);
  EXPECT_DOUBLE_EQ(exact_match({"a", "b"}, {{"b"}, {"a"}}), 0.0);
  EXPECT_DOUBLE_EQ(exact_match({"a b", "ab"}, {{"a  b"}, {"ab"}}), 0.5);  // inner spaces count
}

TEST(ExactMatchTest, EdgeCases) {
  EXPECT_DOUBLE_EQ(exact_match({}, {}), 0.0);
  EXPECT_DOUBLE_EQ(exact_match({"x"}, {{}}), 0.0);     // no gold answer: a miss
  EXPECT_DOUBLE_EQ(exact_match({"  "}, {{""}}), 1.0);  // empty after trimming on both sides
}

TEST(ExactMatchTest, SizeMismatchNamesBothSizes) {
  try {
    exact_match({"a", "b", "c"}, {{"a"}, {"b"}});
    FAIL() << "no error";
  } catch (const ptuner::Error& e) {
    EXPECT_NE(std::string(e.what()).find("3 predictions but 2 answer lists"), std::string::npos)
        << e.what();
  }
}
