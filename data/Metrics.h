#pragma once
// The official metric of each task (TaskSpec::metrics), computed from the examples a
// TaskReader gave and the model's predictions for them (same order), all in [0, 1] (correlations in [-1, 1]; T5 and the
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
//   wsc       accuracy of T5's wsc_simple postprocessor against the label: 1 (the prediction
//             names the referent) is right for True, 0 for False, and -1 (an empty or
//             determiner-only prediction) is wrong for both
//   mrpc, qqp accuracy, f1 with "equivalent" / "duplicate" positive
//   cola      accuracy, matthews_corr (data/ClassificationMetrics.h), "acceptable" = class 1
//   sst2, mnli, qnli, glue_rte, wnli   accuracy
//   stsb      pearson and spearman of the predictions and gold scores as numbers (a prediction
//             that is not a number is -1, as T5's string_to_float)
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

// Whether the task's metric scores `ex`: it has a label (classification, MultiRC, WSC) or gold
// answers (ReCoRD, MRQA, jsonl). A test split's rows have neither.
bool is_labeled(const std::string& task, const TextToTextExample& ex);

// T5's postprocessors.wsc_simple on a prediction and its referent (the example's target):
// both stripped (Python str.strip: Unicode whitespace), lowercased and cut at single spaces, with
// T5's 21 determiners dropped. -1 when nothing of the prediction is left, 0 when "'" is in one
// side only, else 1 when one side's words are a subset of the other's, 0 when not.
int wsc_simple(const std::string& prediction, const std::string& referent);

}  // namespace ptuner::data
