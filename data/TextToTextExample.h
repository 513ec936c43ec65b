#pragma once
// One text-to-text example as T5 sees it: the encoder reads `inputs`, the decoder is trained to
// write `targets`. Readers and tasks produce these; the loader tokenizes them; metrics read the
// fields after `targets`.
#include <string>
#include <vector>

namespace ptuner::data {

struct TextToTextExample {
  std::string inputs;
  std::string targets;
  // Every gold answer, for metrics (exact match against any of them). The JSONL reader fills it
  // with {targets} when the record names no other answers; task readers leave it empty on
  // unlabeled (test) rows.
  std::vector<std::string> answers;
  // The record's own id where it has one ("" otherwise): SuperGLUE "idx", MultiRC "p-q-a",
  // ReCoRD the query idx, MRQA "qid", QQP "id".
  std::string id;
  // TaskSpec name of the reader that made it ("boolq", ...; "" from a bare JsonlReader).
  std::string task;
  // Examples scored together: MultiRC (paragraph idx, question idx) and ReCoRD (passage idx,
  // query idx), both written "p-q"; "" for every other task.
  std::string group;
  // Legal label strings for rank classification ({"False", "True"} for BoolQ, the entities for
  // ReCoRD); empty for free generation (WSC, MRQA, JSONL).
  std::vector<std::string> choices;
  // The gold class where a metric needs it: the target of a classification task, "True" /
  // "False" for WSC (whose target is the referent text); "" on unlabeled rows and for QA.
  std::string label;
};

}  // namespace ptuner::data
