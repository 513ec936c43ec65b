#pragma once
// Greedy-decoding evaluation of a prompt on a dev file: each DP rank decodes its share
// (examples i with i mod dp = dp_rank) and the counts are summed over DP.
#include <map>
#include <string>
#include <vector>

#include "data/Tokenizer.h"
#include "dist/ParallelState.h"
#include "model_parallel/T5Model.h"
#include "train/PromptMethod.h"
#include "train/RunConfig.h"

namespace ptuner::train {

struct EvalOptions {
  std::string path;
  int64_t batch_size = 8;
  int64_t max_input_len = 512;  // tokens after the prompt
  int64_t max_target_len = 128;
  int64_t max_examples = 0;     // 0: all
  std::string on_error = "fail";
  std::string task = "jsonl";   // a data::TaskReader task
  bool task_prefix = false;

  // The dev set of a run: data.dev, read as data.task, lengths net of the prompt.
  static EvalOptions from(const RunConfig& config);
};

// The metric `wanted` names, or for "auto" the task's first of accuracy, exact_match, f1;
// an unknown name is an error listing the metrics there are.
std::string select_metric(const std::map<std::string, double>& metrics, const std::string& wanted);

struct EvalResult {
  std::map<std::string, double> metrics;  // the task's official metrics over the whole dev set
  std::vector<std::string> predictions;   // every example's, in file order (all DP ranks')
};

// ids: [B, S], mask: [B, S] -> generated ids [B, ≤ max_len] (no start token; pad after EOS)
torch::Tensor greedy_decode(mp::T5Model& model, PromptMethod& prompt, const torch::Tensor& ids,
                            const torch::Tensor& mask, int64_t max_len);

EvalResult evaluate(mp::T5Model& model, PromptMethod& prompt, const data::Tokenizer& tokenizer,
                    const dist::ParallelState& ps, const EvalOptions& options);

}  // namespace ptuner::train
