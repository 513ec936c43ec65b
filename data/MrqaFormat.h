#pragma once
// MRQA 2019 shared-task files (.jsonl.gz) as the prompt-tuning code reads them
// (prompt_tuning/scripts/mrqa_to_tsv.py + preprocess_tsv_to_qa). The first line is a header
//   {"header": {"dataset": "SQuAD", "split": "dev"}}
// and every further line one context with its questions:
//   {"id": C, "context": T, "qas": [{"qid": Q, "question": S, "answers": [A, ...],
//     "detected_answers": [{"text": X, "char_spans": [[b, e]], ...}, ...]}, ...]}
// Each question becomes one example:
//   ws(s)   = Python re.sub(r"\s+", " ", s)            (mrqa_to_tsv.normalize_whitespace)
//   pad(s)  = T5's _pad_punctuation (data/T5Text.h)     ("U.S." -> "U . S . ")
//   inputs  = _string_join(["question:", pad(ws(S)), "context:", pad(ws(T))])
//   targets = pad(ws(detected_answers[0].text)), else pad(ws(answers[0])) when nothing was
//             detected
//   answers = pad(ws(A)) for every A in "answers" (all kept for the metric)
//   id = Q, group = C.
// There is no task name to drop: task_prefix changes nothing. A question without any answer is
// unlabeled (fine for evaluation, malformed for training).
#include "data/TaskFormat.h"

namespace ptuner::data {

class MrqaFormat : public TaskFormat {
 public:
  explicit MrqaFormat(bool is_training);
  bool parse(const std::string& line, bool first, std::vector<TextToTextExample>& out) override;

 private:
  bool is_training_;
};

}  // namespace ptuner::data
