#pragma once
// GLUE MRPC and QQP TSV files as T5's glue() preprocessor formats them. Fields are split at
// tabs with no quoting (GLUE's files hold bare '"'); the first line is the header, and columns
// are found by name:
//   MRPC  Quality  #1 ID  #2 ID  #1 String  #2 String      (test: "index" instead of "Quality")
//         inputs "mrpc sentence1: <#1 String> sentence2: <#2 String>"
//         targets "not_equivalent" | "equivalent" for Quality 0 | 1
//   QQP   id  qid1  qid2  question1  question2  is_duplicate (test: id  question1  question2)
//         inputs "qqp question1: <question1> question2: <question2>"
//         targets "not_duplicate" | "duplicate" for is_duplicate 0 | 1
// The leading task name is dropped unless task_prefix. Without a label column the rows are
// unlabeled (targets "", answers {}; malformed for training). id = the "id" / "index" column,
// else the 0-based number of the data row. A header lacking a text column fails the whole file;
// a row with another number of fields than the header is malformed.
#include <map>

#include "data/TaskFormat.h"

namespace ptuner::data {

class GlueTsvFormat : public TaskFormat {
 public:
  // task: "mrpc" or "qqp".
  GlueTsvFormat(std::string task, bool task_prefix, bool is_training);
  bool parse(const std::string& line, bool first, std::vector<TextToTextExample>& out) override;

 private:
  struct Columns {
    std::string text1, text2, label, id;  // header names
    std::string key1, key2;               // written "key:" in the inputs
    std::vector<std::string> labels;
  };
  std::string task_;
  Columns columns_;
  bool task_prefix_;
  bool is_training_;
  size_t width_ = 0;                 // fields in the header
  std::map<std::string, size_t> at_;  // column name -> field index
  int64_t row_ = 0;                  // data rows seen
};

}  // namespace ptuner::data
