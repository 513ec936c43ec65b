// SQuAD / MRQA normalisation, exact match and token F1, worked out by hand.
#include <gtest/gtest.h>

#include "data/SquadMetrics.h"

using namespace ptuner::data;

TEST(SquadMetricsTest, Normalisation) {
  // lowercase, punctuation deleted (not spaced), articles removed as whole words, spaces folded.
  EXPECT_EQ(squad::normalize("The  Eiffel-Tower!"), "eiffeltower");
  EXPECT_EQ(squad::normalize("An apple, a day\tkeeps"), "apple day keeps");
  EXPECT_EQ(squad::normalize("theater Anna"), "theater anna");
  EXPECT_EQ(squad::normalize("Über Café ( 1 , 2 )"), "über café 1 2");
  EXPECT_EQ(squad::normalize("  "), "");
}

TEST(SquadMetricsTest, ExactMatchAndF1) {
  EXPECT_EQ(squad::exact_match("The Eiffel Tower.", "eiffel tower"), 1.0);
  EXPECT_EQ(squad::exact_match("Tower Eiffel", "eiffel tower"), 0.0);
  EXPECT_EQ(squad::exact_match("", "the"), 1.0);  // both normalise to ""
  EXPECT_EQ(squad::f1("", "the"), 0.0);           // no common token
  // "a" is an article: pred tokens {b, c}, gold {b, c, d}: P = 1, R = 2/3, F1 = 0.8.
  EXPECT_NEAR(squad::f1("a b c", "b c d"), 0.8, 1e-12);
  // Repeated tokens count as a multiset: pred {x, x, y}, gold {x, y, y}: common 2, P = R = 2/3.
  EXPECT_NEAR(squad::f1("x x y", "x y y"), 2.0 / 3.0, 1e-12);
  // Maximum over gold answers: "paris" (P 1/4, R 1 -> 0.4), "city of paris" (P 3/4, R 1 -> 6/7).
  EXPECT_NEAR(squad::max_f1("city of Paris, France", {"Paris", "the city of Paris"}), 6.0 / 7.0,
              1e-12);
  EXPECT_EQ(squad::max_exact_match("Paris!", {"Lyon", "the Paris"}), 1.0);
  EXPECT_EQ(squad::max_f1("x", {}), 0.0);
}
