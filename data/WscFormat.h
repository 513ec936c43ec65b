#pragma once
// SuperGLUE WSC in T5's "simple" form (TFDS wsc.fixed + T5's wsc_simple): the model writes the
// referent of a marked pronoun. One JSONL record:
//   {"idx": N, "text": T, "label": true|false,
//    "target": {"span1_index": i1, "span1_text": S1, "span2_index": i2, "span2_text": S2}}
// Span indices count words of T split at single spaces. As wsc.fixed, a span text that does not
// occur in T gets the case of its first letter from the word at its index, trailing '.' removed
// and '\n' made ' ' ("The council" -> "the council").
//   inputs  = "wsc: " + T with the pronoun word marked "*S2*" (the leading "wsc: " dropped unless
//             task_prefix). The pronoun is the word at i2; when that word is not S2 (two known
//             off-by-one records), the nearest word equal to S2 ignoring case and surrounding
//             punctuation; none -> malformed. Punctuation glued to the word stays outside the
//             marks: "him," -> "*him*,".
//   targets = S1 (the candidate referent), label = "True" | "False" ("" without a label)
//   training: positives only (T5's correct_referent_only); a negative record gives no example
//   answers = {S1} for a positive, {} otherwise.
#include "data/TaskFormat.h"

namespace ptuner::data {

class WscFormat : public TaskFormat {
 public:
  WscFormat(bool task_prefix, bool is_training);
  bool parse(const std::string& line, bool first, std::vector<TextToTextExample>& out) override;

  // TFDS's _fix_wst for one span: (text, span text, span index) -> fixed span text.
  static std::string fix_span_text(const std::string& text, const std::string& span,
                                   int64_t index);

 private:
  bool task_prefix_;
  bool is_training_;
};

}  // namespace ptuner::data
