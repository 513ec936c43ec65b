#pragma once
// Classification metrics over label strings, as T5 computes them (t5/evaluation/metrics.py),
// in [0, 1] (T5 reports 100x). Predictions are compared after trimming surrounding whitespace;
// a prediction that is not one of the task's labels is simply wrong.
//
//   accuracy   = #{i : pred_i == gold_i} / N
//   binary F1  = 2 TP / (2 TP + FP + FN) for the positive label (0 when TP + FP + FN = 0). As
//                T5's f1_score_with_invalid, an illegal prediction counts as the opposite of
//                the gold label: FN on a positive, FP on a negative.
//   macro F1   = mean over the classes c of F1_c = 2 TP_c / (2 TP_c + FP_c + FN_c) (0 for a
//                class that is neither predicted nor gold), as sklearn's fbeta_score(beta=1,
//                average="macro", labels=all classes); an illegal prediction is an FN of the
//                gold class and an FP of no class.
//   matthews   sklearn's matthews_corrcoef over class ids: each trimmed prediction is its
//              index in `classes`, or -1 when it is none of them (T5's
//              string_label_to_class_id), so an illegal prediction is a class of its own.
//              With C the confusion counts, s = N, c = correct, p_k / t_k the predicted /
//              true counts of class k:
//                (c·s − Σ p_k t_k) / sqrt((s² − Σ p_k²)(s² − Σ t_k²)),  0 when a factor is 0.
#include <string>
#include <vector>

namespace ptuner::data {

// Throws when the sizes differ; 0 for empty lists.
double accuracy(const std::vector<std::string>& predictions, const std::vector<std::string>& gold);
double binary_f1(const std::vector<std::string>& predictions, const std::vector<std::string>& gold,
                 const std::string& positive);
double macro_f1(const std::vector<std::string>& predictions, const std::vector<std::string>& gold,
                const std::vector<std::string>& classes);
// In [-1, 1]; 0 for empty lists.
double matthews_corr(const std::vector<std::string>& predictions,
                     const std::vector<std::string>& gold, const std::vector<std::string>& classes);

}  // namespace ptuner::data
