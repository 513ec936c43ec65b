#pragma once
// SuperGLUE MultiRC as T5 reads it. One JSONL record is a paragraph with its questions, each
// with candidate answers:
//   {"idx": P, "passage": {"text": T, "questions": [{"idx": Q, "question": S,
//     "answers": [{"idx": A, "text": X, "label": 0|1}, ...]}, ...]}}
// Every answer becomes one example (T5's glue() with features question, answer, paragraph):
//   inputs  = clean("multirc question: S answer: X paragraph: T"), the leading "multirc "
//             dropped unless task_prefix
//   targets = "True" | "False" (label 1 | 0; "" when the answer has no label: a test row)
//   clean: every "<br>" -> " ", then every "<b>" and "</b>" removed
//   id = "P-Q-A", group = "P-Q" (the question: its answers are scored together).
// A record is malformed as a whole when any of its parts is (nothing of it is returned).
#include "data/TaskFormat.h"

namespace ptuner::data {

class MultiRcFormat : public TaskFormat {
 public:
  MultiRcFormat(bool task_prefix, bool is_training);
  bool parse(const std::string& line, bool first, std::vector<TextToTextExample>& out) override;

  // The markup cleaning above.
  static std::string clean(const std::string& text);

 private:
  bool task_prefix_;
  bool is_training_;
};

}  // namespace ptuner::data
