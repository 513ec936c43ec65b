#pragma once
// SuperGLUE ReCoRD as T5 reads it (TFDS super_glue/record + T5's record preprocessor). One
// JSONL record is a passage with its queries:
//   {"idx": P, "passage": {"text": T, "entities": [{"start": s, "end": e}, ...]},
//    "qas": [{"idx": Q, "query": "... @placeholder ...",
//             "answers": [{"start": s, "end": e, "text": X}, ...]}, ...]}
// Entity offsets count code points with an INCLUSIVE end: the entity is T[s .. e]. Entities are
// the distinct entity strings, sorted (a repeated entity is listed once); answers likewise.
//   passage' = T with "\n@highlight\n" -> " " after . ? ! " ' and -> ". " elsewhere
//   inputs   = "record query: <query> entities: <e1>, <e2>, ... passage: <passage'>", the
//              leading "record " dropped unless task_prefix
//   training:   one example per answer, targets = that answer
//   evaluation: one example per query, targets = the first answer, answers = all of them
//               (targets "" and answers {} for a query without answers: a test row)
//   id = "Q", group = "P-Q", choices = the entities (for rank classification).
#include "data/TaskFormat.h"

namespace ptuner::data {

class ReCoRDFormat : public TaskFormat {
 public:
  ReCoRDFormat(bool task_prefix, bool is_training);
  bool parse(const std::string& line, bool first, std::vector<TextToTextExample>& out) override;

  // The @highlight rewriting above.
  static std::string clean_passage(const std::string& text);

 private:
  bool task_prefix_;
  bool is_training_;
};

}  // namespace ptuner::data
