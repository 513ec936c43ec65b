// MultiRC, ReCoRD and WSC: the multi-example and span-based SuperGLUE readers, checked against
// strings written out by hand from tests/fixtures/data.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "data/MalformedRecord.h"
#include "data/MultiRcFormat.h"
#include "data/ReCoRDFormat.h"
#include "data/TaskReader.h"
#include "data/WscFormat.h"
#include "dist/Check.h"
#include "tests/data/ReaderTestSupport.h"

using namespace ptuner::data;

using reader_testing::drain;
using reader_testing::read_all;
using reader_testing::reason_of;

namespace {



const std::string kMultiRcParagraph =
    "Sent 1: Tom lost his keys at the park. Sent 2: He found them under the bench. ";

}  // namespace

TEST(SuperGlueReadersTest, MultiRcOneExamplePerAnswerWithMarkupCleaned) {
  std::vector<int64_t> lines;
  const auto ex = read_all("multirc", "MultiRC/val.jsonl", false, false, OnError::Skip, &lines);
  ASSERT_EQ(ex.size(), 5u);  // record 2 has a label "maybe": skipped as a whole
  EXPECT_EQ(lines, (std::vector<int64_t>{1, 1, 1, 1, 1}));
  EXPECT_EQ(ex[0].inputs, "question: Where did Tom lose his keys? answer: At the park paragraph: " +
                              kMultiRcParagraph);
  EXPECT_EQ(ex[1].inputs, "question: Where did Tom lose his keys? answer: At home paragraph: " +
                              kMultiRcParagraph);
  EXPECT_EQ(ex[3].inputs, "question: Where were the keys found? answer: Under the bench "
                          "paragraph: " + kMultiRcParagraph);
  const std::vector<std::string> targets = {"True", "False", "True", "True", "False"};
  const std::vector<std::string> ids = {"0-0-0", "0-0-1", "0-0-2", "0-1-3", "0-1-4"};
  const std::vector<std::string> groups = {"0-0", "0-0", "0-0", "0-1", "0-1"};
  for (size_t i = 0; i < ex.size(); ++i) {
    EXPECT_EQ(ex[i].targets, targets[i]) << i;
    EXPECT_EQ(ex[i].label, targets[i]) << i;
    EXPECT_EQ(ex[i].id, ids[i]) << i;
    EXPECT_EQ(ex[i].group, groups[i]) << i;
    EXPECT_EQ(ex[i].task, "multirc");
  }
  const auto prefixed = read_all("multirc", "MultiRC/val.jsonl", true, true, OnError::Skip);
  EXPECT_EQ(prefixed[4].inputs, "multirc question: Where were the keys found? answer: In a "
                                "drawer paragraph: " + kMultiRcParagraph);
  MultiRcFormat f(false, true);
  EXPECT_EQ(reason_of(f, R"({"idx": 1, "passage": {"text": "t", "questions": [{"idx": 2,)"
                         R"( "question": "q", "answers": [{"idx": 5, "text": "Yes", "label": 1},)"
                         R"( {"idx": 6, "text": "No", "label": "maybe"}]}]}})"),
            "\"passage.questions[0].answers[1].label\" is a JSON string, not a boolean");
  EXPECT_EQ(reason_of(f, R"({"idx": 1, "passage": {"text": "t"}})"),
            "missing \"passage.questions\"");
  // Test rows: no labels; fine for evaluation, malformed for training.
  const auto test = read_all("multirc", "MultiRC/test.jsonl", false, false);
  ASSERT_EQ(test.size(), 2u);
  EXPECT_EQ(test[1].inputs, "question: Who sings? answer: Bob paragraph: Sent 1: Ann sings. ");
  EXPECT_EQ(test[1].targets, "");
  EXPECT_TRUE(test[1].answers.empty());
  EXPECT_THROW(read_all("multirc", "MultiRC/test.jsonl", false, true), ptuner::Error);
}

TEST(SuperGlueReadersTest, ReCoRDEntitiesHighlightsAndAnswers) {
  const std::string passage =
      "The Eiffel Tower in Paris drew visitors. Paris officials said the Eiffel Tower would stay "
      "open. Eiffel Tower stays open. Paris is busy. Visitors come";
  // Evaluation: one example per query, all answers kept.
  const auto ev = read_all("record", "ReCoRD/val.jsonl", false, false, OnError::Skip);
  ASSERT_EQ(ev.size(), 3u);  // record 2's entity ends past its passage: skipped
  EXPECT_EQ(ev[0].inputs, "query: The @placeholder is a landmark. entities: Eiffel Tower, Paris "
                          "passage: " + passage);
  EXPECT_EQ(ev[0].targets, "Eiffel Tower");
  EXPECT_EQ(ev[0].answers, std::vector<std::string>{"Eiffel Tower"});
  EXPECT_EQ(ev[1].targets, "Eiffel Tower");
  EXPECT_EQ(ev[1].answers, (std::vector<std::string>{"Eiffel Tower", "Paris"}));
  EXPECT_EQ(ev[1].choices, (std::vector<std::string>{"Eiffel Tower", "Paris"}));
  EXPECT_EQ(ev[1].id, "1");
  EXPECT_EQ(ev[1].group, "0-1");
  EXPECT_EQ(ev[2].targets, "");  // no answers: a test query
  EXPECT_TRUE(ev[2].answers.empty());
  // Training: one example per answer.
  const auto tr = read_all("record", "ReCoRD/train.jsonl", true, true);
  ASSERT_EQ(tr.size(), 3u);
  EXPECT_EQ(tr[1].inputs, "record query: Officials in @placeholder spoke. entities: Eiffel Tower, "
                          "Paris passage: " + passage);
  EXPECT_EQ(tr[0].targets, "Eiffel Tower");
  EXPECT_EQ(tr[1].targets, "Eiffel Tower");
  EXPECT_EQ(tr[2].targets, "Paris");
  EXPECT_EQ(tr[2].group, "0-1");
  // The unanswered query makes the validation file's first record unfit for training.
  EXPECT_THROW(read_all("record", "ReCoRD/val.jsonl", false, true), ptuner::Error);

  ReCoRDFormat f(false, false);
  EXPECT_EQ(reason_of(f, R"({"idx": 1, "passage": {"text": "Abc", "entities": [{"start": 1,)"
                         R"( "end": 3}]}, "qas": []})"),
            "\"passage.entities[0]\" start 1 / end 3 is not a span of the passage (3 characters; "
            "end is inclusive)");
  // Offsets count code points: "Zürich" is 6 characters at [4, 9].
  std::vector<TextToTextExample> out;
  f.parse(R"({"idx": 3, "passage": {"text": "Zu: Zürich\n@highlight\nok", "entities": [)"
          R"({"start": 4, "end": 9}, {"start": 0, "end": 1}]}, "qas": [{"idx": 7, "query": "Q",)"
          R"( "answers": [{"start": 4, "end": 9, "text": "Zürich"}]}]})",
          true, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].inputs, "query: Q entities: Zu, Zürich passage: Zu: Zürich. ok");
  EXPECT_EQ(ReCoRDFormat::clean_passage("A?\n@highlight\nB\n@highlight\n\"C\"\n@highlight\nD"),
            "A? B. \"C\" D");
}

TEST(SuperGlueReadersTest, WscSimpleMarksThePronounAndFixesSpanCase) {
  const auto ev = read_all("wsc", "WSC/val.jsonl", false, false);
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0].inputs, "Mark told Pete many lies about himself, which Pete included in his "
                          "book. *He* should have been more skeptical.");
  EXPECT_EQ(ev[0].targets, "Mark");
  EXPECT_EQ(ev[0].label, "False");
  EXPECT_TRUE(ev[0].answers.empty());
  // span1_text "the city councilmen." -> case of "The", trailing '.' dropped.
  EXPECT_EQ(ev[1].targets, "The city councilmen");
  EXPECT_EQ(ev[1].label, "True");
  EXPECT_EQ(ev[1].answers, std::vector<std::string>{"The city councilmen"});
  EXPECT_EQ(ev[1].inputs, "The city councilmen refused the demonstrators a permit because *they* "
                          "feared violence.");
  // span2_index 6 points at "use": the nearest "it" is marked.
  EXPECT_EQ(ev[2].inputs, "Some day they might want to use *it* , but really for now, what more "
                          "could they wish for?");
  EXPECT_EQ(ev[2].targets, "The magic pebble");
  // span2_text "It" differs in case from the text's "it"; no label (test row).
  EXPECT_EQ(ev[3].inputs, "The trophy doesn't fit into the brown suitcase because *it* is too "
                          "large.");
  EXPECT_EQ(ev[3].label, "");
  EXPECT_EQ(ev[3].id, "3");
  // Training keeps the positives only; the unlabeled row is malformed there.
  const auto tr = read_all("wsc", "WSC/val.jsonl", true, true, OnError::Skip);
  ASSERT_EQ(tr.size(), 2u);
  EXPECT_EQ(tr[0].inputs.substr(0, 25), "wsc: The city councilmen ");
  EXPECT_EQ(tr[1].targets, "The magic pebble");
  WscFormat f(false, false);
  EXPECT_EQ(reason_of(f, R"({"text": "A b c", "target": {"span1_index": 0, "span1_text": "A",)"
                         R"( "span2_index": 1, "span2_text": "he"}, "label": true})"),
            "\"target.span2_index\" 1 points at 'b', and no word of the text is span2_text 'he'");
  EXPECT_EQ(reason_of(f, R"({"text": "A b", "target": {"span1_index": 0, "span1_text": "A",)"
                         R"( "span2_index": 5, "span2_text": "b"}})"),
            "\"target.span2_index\" 5 is outside the text's 2 words");
  EXPECT_EQ(WscFormat::fix_span_text("He said \"Good for him,\" he said.", "Him.", 3), "him");
}

// T5's _wsc_inputs and wsc_simple preprocessor (t5/data/preprocessors.py), rule by rule.
TEST(SuperGlueReadersTest, WscInputsAreT5s) {
  auto inputs = [](const std::string& text, int span2_index, const std::string& span2_text) {
    WscFormat f(/*task_prefix=*/true, /*is_training=*/false);
    std::vector<TextToTextExample> out;
    const nlohmann::json j = {{"text", text},
                              {"target",
                               {{"span1_index", 0}, {"span1_text", "John"}, {"span2_index", span2_index},
                                {"span2_text", span2_text}}},
                              {"label", true}};
    f.parse(j.dump(), false, out);
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? std::string() : out[0].inputs;
  };
  // The plain path: words before the pronoun, X, words after, then " X " -> " *span2_text* ".
  EXPECT_EQ(inputs("Mitchell asked Tom if he could lend some money.", 4, "he"),
            "wsc: Mitchell asked Tom if *he* could lend some money.");
  // The pronoun as the last word: T5's join leaves "X " and so a trailing space.
  EXPECT_EQ(inputs("Mitchell asked Tom if he", 4, "he"), "wsc: Mitchell asked Tom if *he* ");
  // The replacement is global: a literal " X " elsewhere is marked too.
  EXPECT_EQ(inputs("A said X if he could.", 4, "he"), "wsc: A said *he* if *he* could.");
  // Special case 1: the word is `him,"`; T5 returns a fixed text whatever span2_index says.
  const std::string good_for_him =
      "The boy continued to whip the pony , and eventually the pony threw him over. John laughed out quite "
      "loud. \"Good for him,\" he said. ";
  for (const int index : {13, 21})
    EXPECT_EQ(inputs(good_for_him, index, "him"),
              "wsc: The boy continued to whip the pony , and eventually the pony threw him over. John laughed "
              "out quite loud. \"Good for *him* ,\" he said.");
  // Special case 2: span2_index points at "use", T5 marks "it".
  const std::string farley =
      "When they had eventually calmed down a bit , and had gotten home, Mr. Farley put the magic pebble in "
      "an iron safe . Some day they might want to use it , but really for now, what more could they wish for?";
  EXPECT_EQ(inputs(farley, 29, "it"),
            "wsc: When they had eventually calmed down a bit , and had gotten home, Mr. Farley put the magic "
            "pebble in an iron safe . Some day they might want to use *it* , but really for now, what more "
            "could they wish for?");
  // Training (correct_referent_only): label-True rows only, the target span1_text.
  WscFormat train(true, true);
  std::vector<TextToTextExample> out;
  train.parse(R"({"text": "A b he c", "target": {"span1_index": 0, "span1_text": "A", "span2_index": 2,)"
              R"( "span2_text": "he"}, "label": false})",
              false, out);
  EXPECT_TRUE(out.empty());
  train.parse(R"({"text": "A b he c", "target": {"span1_index": 0, "span1_text": "A", "span2_index": 2,)"
              R"( "span2_text": "he"}, "label": true})",
              false, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].inputs, "wsc: A b *he* c");
  EXPECT_EQ(out[0].targets, "A");
}
