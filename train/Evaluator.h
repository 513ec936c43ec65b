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

namespace ptuner::train {

struct EvalOptions {
  std::string path;
  int64_t batch_size = 8;
  int64_t max_input_len = 512;  // tokens after the prompt
  int64_t max_target_len = 128;
  int64_t max_examples = 0;     // 0: all
  std::string on_error = "fail";
};

struct EvalResult {
  std::map<std::string, double> metrics;  // exact_match, examples
  std::vector<std::string> predictions;   // this rank's, in its order
};

// ids: [B, S], mask: [B, S] -> generated ids [B, ≤ max_len] (no start token; pad after EOS)
torch::Tensor greedy_decode(mp::T5Model& model, PromptMethod& prompt, const torch::Tensor& ids,
                            const torch::Tensor& mask, int64_t max_len);

EvalResult evaluate(mp::T5Model& model, PromptMethod& prompt, const data::Tokenizer& tokenizer,
                    const dist::ParallelState& ps, const EvalOptions& options);

}  // namespace ptuner::train
