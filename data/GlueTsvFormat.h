#pragma once
// The GLUE benchmark's TSV files (as GLUE's download script ships them) read as T5's glue()
// preprocessor formats them. Fields are split at tabs with no quoting (GLUE's files hold bare
// '"'); the first line is the header and columns are found by name (CoLA's train and dev files
// have no header: their four columns are fixed). Inputs are "<benchmark> key: text ..." with the
// keys in T5's (sorted TFDS feature) order, the leading benchmark dropped unless task_prefix:
//
//   task      file (columns used)                         inputs                                   targets
//   cola      CoLA/{train,dev}.tsv: source label - sentence "cola sentence: S"                       unacceptable | acceptable (0 | 1)
//             (no header); test: index sentence
//   sst2      SST-2: sentence label; test index sentence   "sst2 sentence: S"                       negative | positive (0 | 1)
//   mrpc      MRPC: Quality #1 ID #2 ID #1 String #2 String "mrpc sentence1: A sentence2: B"        not_equivalent | equivalent (0 | 1)
//   qqp       QQP: id qid1 qid2 question1 question2 is_duplicate  "qqp question1: A question2: B"  not_duplicate | duplicate (0 | 1)
//   stsb      STS-B: index ... sentence1 sentence2 score   "stsb sentence1: A sentence2: B"         the score rounded to 0.2, "%.1f"
//   mnli      MNLI: index ... sentence1 sentence2 ... gold_label  "mnli hypothesis: sentence2 premise: sentence1"
//                                                                                                  entailment | neutral | contradiction
//   qnli      QNLI: index question sentence label          "qnli question: Q sentence: S"           entailment | not_entailment
//   glue_rte  RTE: index sentence1 sentence2 label         "rte sentence1: A sentence2: B"          entailment | not_entailment
//   wnli      WNLI: index sentence1 sentence2 label        "wnli sentence1: A sentence2: B"         not_entailment | entailment (0 | 1)
//
// (glue_rte is GLUE's RTE file; "rte" is SuperGLUE's JSONL, read as "rte hypothesis: premise:".)
// STS-B's target is T5's tf.as_string(tf.round(score * 5) / 5, precision=1) in float32 with
// round-half-to-even ("3.800" -> "3.8", "0.100" -> "0.0"). MNLI's dev_matched / dev_mismatched
// files read the same way. Without a label column the rows are unlabeled (targets "", answers {};
// malformed for training). id = the "id" / "index" column, else the 0-based number of the data
// row. A header lacking a text column fails the whole file; a row with another number of fields
// than the header, or a label that is not one of the task's, is malformed.
#include <map>
#include <string>
#include <vector>

#include "data/TaskFormat.h"

namespace ptuner::data {

class GlueTsvFormat : public TaskFormat {
 public:
  enum class LabelKind { Index, Name, Score };
  struct Feature {
    std::string key;     // written "key:" in the inputs
    std::string column;  // the header's name for it
  };
  struct Layout {
    std::string benchmark;  // the leading word of the inputs
    std::vector<Feature> features;
    std::string label;  // the label column
    LabelKind label_kind = LabelKind::Index;
    std::vector<std::string> labels;  // class names by index (Index) or the legal names (Name)
    std::vector<std::string> ids;     // columns that may hold the row's id, first found wins
    // Column names of a header-less file (CoLA's train and dev), empty when every file has one.
    std::vector<std::string> headerless;
  };

  // The GLUE tasks above ("cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "qnli", "glue_rte",
  // "wnli"), in that order.
  static const std::vector<std::string>& tasks();
  // Whether `task` is one of them.
  static bool reads(const std::string& task);
  static Layout layout(const std::string& task);
  // T5's STS-B target for a score: "3.8". Throws MalformedRecord when `score` is not a number.
  static std::string stsb_target(const std::string& score);

  GlueTsvFormat(std::string task, bool task_prefix, bool is_training);
  bool parse(const std::string& line, bool first, std::vector<TextToTextExample>& out) override;

 private:
  void set_columns(const std::vector<std::string>& names);
  std::string label_of(const std::string& value) const;

  std::string task_;
  Layout layout_;
  bool task_prefix_;
  bool is_training_;
  size_t width_ = 0;                 // fields in the header
  std::map<std::string, size_t> at_;  // column name -> field index
  int64_t row_ = 0;                  // data rows seen
};

}  // namespace ptuner::data
