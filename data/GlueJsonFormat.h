#pragma once
// SuperGLUE tasks read as T5's glue() preprocessor reads them: BoolQ, CB, COPA, RTE, WiC and the
// diagnostics AX-b / AX-g. Each JSONL record becomes one example
//   inputs  = "<benchmark> <key1>: <value1> <key2>: <value2> ..."   (joined with single spaces)
//   targets = the label name
// with the features in T5's order (sorted names unless T5 fixes one) and the leading benchmark
// name dropped unless task_prefix (Lester et al.'s task-less variant):
//   boolq  "boolq passage: P question: Q"                     -> "False" | "True"
//   cb     "cb hypothesis: H premise: P"                      -> "entailment" | "contradiction" | "neutral"
//   copa   "copa choice1: C1 choice2: C2 premise: P question: cause|effect" -> "choice1" | "choice2"
//   rte    "rte hypothesis: H premise: P"                     -> "entailment" | "not_entailment"
//   wic    "wic sentence1: S1 sentence2: S2 word: W"          -> "False" | "True"
//   axb    as rte, premise = "sentence1", hypothesis = "sentence2"
//   axg    as rte
// Labels in the files: BoolQ / WiC JSON booleans, CB / RTE / AX names, COPA the index 0 / 1. A
// record without "label" is an unlabeled (test) row: targets "", answers {}, label "" - refused
// as malformed when training. WiC's start1/end1/start2/end2 are code-point offsets with an
// EXCLUSIVE end, checked to lie inside their sentence (T5 does not use them).
#include <string>
#include <vector>

#include "data/TaskFormat.h"

namespace ptuner::data {

class GlueJsonFormat : public TaskFormat {
 public:
  enum class LabelKind { Name, Bool, Index };
  struct Feature {
    std::string key;    // written "key:" in the inputs
    std::string field;  // the JSON field it comes from
  };
  struct CharSpan {
    std::string text, start, end;  // fields: sentence, start offset, exclusive end offset
  };
  struct Layout {
    std::string benchmark;  // the leading word of the inputs
    std::vector<Feature> features;
    std::vector<std::string> labels;  // class names by index
    LabelKind label_kind = LabelKind::Name;
    std::vector<CharSpan> spans;
  };

  // task: boolq, cb, copa, rte, wic, axb, axg.
  static Layout layout(const std::string& task);

  GlueJsonFormat(std::string task, bool task_prefix, bool is_training);
  bool parse(const std::string& line, bool first, std::vector<TextToTextExample>& out) override;

 private:
  std::string task_;
  Layout layout_;
  bool task_prefix_;
  bool is_training_;
};

}  // namespace ptuner::data
