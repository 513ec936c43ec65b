#pragma once
// Evaluation of a prompt on a dev file at any layout, by greedy decoding or rank classification: each DP replica decodes
// its share (examples i with i mod dp = dp_rank) through its pipeline, and the predictions are
// gathered over DP.
#include <map>
#include <string>
#include <vector>

#include "data/TextToTextExample.h"
#include "data/Tokenizer.h"
#include "dist/ParallelState.h"
#include "model_parallel/PipelineStage.h"
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
  // Rank classification when not empty: each example's prediction is the label whose tokens
  // have the least cross-entropy given the input, instead of a greedy decoding.
  std::vector<std::string> rank_labels;
  // As a run's dev set (run_dev_sets): its metrics' prefix in evaluate_run ("<name>/<metric>";
  // empty: data.dev's, unprefixed), whether it enters a mixture's average, and the config key
  // that gave the file (for errors).
  std::string name;
  bool averaged = false;
  std::string key = "data.dev";

  // The dev set of a run: data.dev, read as data.task, lengths net of the prompt.
  static EvalOptions from(const RunConfig& config);
  // The same for another task's dev file (a mixture entry's).
  static EvalOptions for_task(const RunConfig& config, const std::string& task, const std::string& path);
};

// A run's dev sets: its main one, data.dev (as data.task) or every [[data.mixture]] entry's dev
// (as its task, named by it, averaged), in the mixture's order; then every [[data.eval_set]] (named
// by its name); none when no dev file is set.
std::vector<EvalOptions> run_dev_sets(const RunConfig& config);

// The dev set's labels (data::is_labeled: what the metric scores). check_dev_labels refuses a
// dev set without one labeled example ("a test split?"), and one with unlabeled examples when
// on_error is "fail"; otherwise it warns with their count (once per file and process), since the
// metric silently leaves them out. count_dev_labels reads the file through (up to max_examples).
// (evaluate_prompts applies it to a set with labels; a set with none gets predictions and
// metrics {"examples": 0} with a warning, for test-split predictions.)
struct DevLabels {
  int64_t examples = 0;
  int64_t labeled = 0;
};
DevLabels count_dev_labels(const EvalOptions& o);
// The dev file's examples in file order (up to max_examples), as evaluation reads them.
std::vector<data::TextToTextExample> read_dev_examples(const EvalOptions& o);
void check_dev_labels(const DevLabels& labels, const EvalOptions& o);

// What a run's periodic evaluation (train.eval_every > 0) will need, checked before its first
// step: data.dev set and present, rank classification's labels, labels in the dev set
// (check_dev_labels) and train.best_metric among the dev sets' metrics. Returns each dev set's
// labels, in run_dev_sets' order (none without evaluation).
std::vector<DevLabels> check_eval_needs(const RunConfig& config);

// The metric `wanted` names, or for "auto" a mixture's "average", else the task's first of
// accuracy, exact_match, f1; an unknown name is an error listing the metrics there are.
std::string select_metric(const std::map<std::string, double>& metrics, const std::string& wanted);
// The order "auto" tries: average, accuracy, exact_match, f1 (select_metric, and `ptuner report`).
const std::vector<std::string>& auto_metric_order();
// A named dev set's metric as evaluate_run names it: "<name>/<metric>" (a mixture's: by task).
std::string dev_set_metric(const std::string& name, const std::string& metric);

struct EvalResult {
  std::map<std::string, double> metrics;  // the task's official metrics over the whole dev set
  std::vector<std::string> predictions;   // every example's, in file order (all DP ranks')
};

// The model and the prompt method in eval mode (no dropout, in a prompt's reparameterisation
// either) while it lives; each gets its mode back after.
class EvalMode {
 public:
  EvalMode(mp::T5Model& model, PromptMethod& prompt);
  ~EvalMode();
  EvalMode(const EvalMode&) = delete;
  EvalMode& operator=(const EvalMode&) = delete;

 private:
  mp::T5Model& model_;
  PromptMethod& prompt_;
  bool model_training_, prompt_training_;
};

struct DecodeOptions {
  // Keep each decoder block's keys and values (mp::DecoderCache): a step runs the decoder over
  // the new token only. Off: over the whole prefix (the reference the cached decoding is checked
  // against, and `ptuner bench --decode`'s baseline).
  bool cache = true;
  // Stop when every row has produced EOS (off: always max_len steps, for timing).
  bool stop_at_eos = true;
};

// ids: [B, S], mask: [B, S] -> generated ids [B, ≤ max_len] (no start token; pad after EOS), on
// every rank of the DP replica. The encoder runs once through the pipeline and its output is
// passed on to the decoder stages; then per token the decoder stages run in turn over the new
// token (each stage keeping its blocks' keys and values) and the last stage's argmax is
// broadcast along the pipeline. With pp > 1 the encoder takes the rows in 2·pp chunks, so that
// its stages work at once on different chunks (the same predictions). prompt_ids [B] (optional)
// picks each row's prompt (MicroBatch::prompt_ids: a PromptTable's rows).
torch::Tensor greedy_decode(mp::PipelineStage& stage, PromptMethod& prompt, const dist::ParallelState& ps,
                            const torch::Tensor& ids, const torch::Tensor& mask, int64_t max_len,
                            const torch::Tensor& prompt_ids = {}, const DecodeOptions& options = {});

// Rank classification: candidates are the token ids of each legal label (EOS included) ->
// [K, B] Σ cross-entropy of each candidate per example, on every rank of the replica. The
// encoder runs once, and so do the cross-attention's key and value projections of its output;
// each candidate is one decoder pass (the encoder in row chunks with pp > 1, as greedy_decode).
torch::Tensor rank_scores(mp::PipelineStage& stage, PromptMethod& prompt, const dist::ParallelState& ps,
                          const torch::Tensor& ids, const torch::Tensor& mask,
                          const std::vector<std::vector<int64_t>>& candidates, const torch::Tensor& prompt_ids = {});
// ... -> [B] index of the candidate with the least Σ cross-entropy (the first on ties).
torch::Tensor rank_classify(mp::PipelineStage& stage, PromptMethod& prompt, const dist::ParallelState& ps,
                            const torch::Tensor& ids, const torch::Tensor& mask,
                            const std::vector<std::vector<int64_t>>& candidates, const torch::Tensor& prompt_ids = {});

// Rank classification over N prompts: scores [K labels, N prompts, B examples] of Σ cross-entropy
// -> {each prompt's label [N, B], the ensemble's [B]: the least cross-entropy summed over the
// prompts}; ties go to the first label.
std::pair<torch::Tensor, torch::Tensor> rank_votes(const torch::Tensor& scores);

// The most frequent of N prompts' predictions; a tie goes to the tied prediction of the
// earliest prompt (the order prompts were given in).
std::string majority_vote(const std::vector<std::string>& predictions);

EvalResult evaluate(mp::T5Model& model, PromptMethod& prompt, const data::Tokenizer& tokenizer,
                    const dist::ParallelState& ps, const EvalOptions& options);

// A run's periodic evaluation over run_dev_sets(config). data.dev: its metrics, as evaluate()
// gives them. A mixture's: each task's metrics as "<task>/<metric>" (with "<task>/examples"),
// "average": the mean over the tasks of their scores (data::task_score, the GLUE / SuperGLUE / T5
// average), and "examples": the sum. Each [[data.eval_set]]: its metrics as "<name>/<metric>",
// in no average or sum. Empty without dev sets. `dev_predictions`, when given, gets data.dev's
// predictions.
std::map<std::string, double> evaluate_run(mp::T5Model& model, PromptMethod& prompt, const data::Tokenizer& tokenizer,
                                           const dist::ParallelState& ps, const RunConfig& config,
                                           std::vector<std::string>* dev_predictions = nullptr);

// N prompts in one pass over the dev set (a prompt ensemble, Lester et al.'s "Prompt Ensembling"): `prompt` picks
// each row's prompt by MicroBatch::prompt_ids (a PromptTable; with n = 1, any method and no ids),
// each batch runs N times over in one encoder batch of N × B rows. Each prompt's metrics, and
// the ensemble's: majority vote of the greedy predictions (majority_vote), or for rank
// classification the label of least cross-entropy summed over the prompts (the most likely
// under the product of the prompts' likelihoods; ties: the first label).
struct EnsembleResult {
  std::vector<EvalResult> prompts;
  EvalResult ensemble;
};
EnsembleResult evaluate_prompts(mp::T5Model& model, PromptMethod& prompt, int64_t n,
                                const data::Tokenizer& tokenizer, const dist::ParallelState& ps,
                                const EvalOptions& options);

// Greedy predictions for rows that each name their prompt (a batch may mix tasks' prompts):
// inputs[i] under prompt prompt_of[i] of `prompt` (a PromptTable), in batches of batch_size, each
// DP replica its share (i mod dp), gathered on every rank; inputs longer than max_input_len are
// cut there (with their EOS).
std::vector<std::string> predict(mp::T5Model& model, PromptMethod& prompt, const std::vector<int64_t>& prompt_of,
                                 const std::vector<std::string>& inputs, const data::Tokenizer& tokenizer,
                                 const dist::ParallelState& ps, int64_t batch_size, int64_t max_input_len,
                                 int64_t max_target_len);

}  // namespace ptuner::train
