#pragma once
// The official metric of each task (TaskSpec::metrics), computed from the examples a
// TaskReader gave and the model's predictions for them (same order), all in [0, 1] (T5 and the
// leaderboards print 100x). Predictions are trimmed of surrounding whitespace; one that is not a
// legal label counts as wrong. Examples without gold (unlabeled test rows) are left out, and
// "examples" reports how many were scored (for ReCoRD: distinct queries).
//
//   boolq, copa, rte, wic, axb, axg   accuracy
//   cb        accuracy, f1_macro (mean F1 over entailment / contradiction / neutral)
//   multirc   f1 over all answers (binary, "True" positive), exact_match = mean over questions
//             (group "p-q") of [every answer of the question right]
//   record    one prediction per query (the first example of each group), exact_match and f1
//             maximised over the gold answers, SQuAD normalisation (data/SquadMetrics.h)
//   mrqa      exact_match and f1 as the MRQA 2019 official script (SQuAD normalisation)
//   wsc       accuracy of [prediction names the referent] == label, where "names" is T5's
//             wsc_simple postprocessor: lowercase, drop determiners, then one side's words a
//             subset of the other's, and "'" in both or neither
//   mrpc, qqp accuracy, f1 with "equivalent" / "duplicate" positive
//   jsonl     exact_match against any answer (data/ExactMatch.h)
#include <map>
#include <string>
#include <vector>

#include "data/TextToTextExample.h"

namespace ptuner::data {

// Throws when the sizes differ (naming both) or the task is unknown (listing the known ones).
std::map<std::string, double> compute_metrics(const std::string& task,
                                              const std::vector<TextToTextExample>& examples,
                                              const std::vector<std::string>& predictions);

// T5's postprocessors.wsc_simple: does `prediction` name `referent`?
bool wsc_names_referent(const std::string& prediction, const std::string& referent);

}  // namespace ptuner::data
