#pragma once
// The prompt-tuning loop. Each step: every DP rank runs grad_accum micro-batches of its share of
// the global batch; the loss is normalised by the global number of target tokens, so summing the
// prompt gradients over DP gives exactly the single-rank gradient of the whole batch.
#include <array>
#include <memory>
#include <optional>
#include <string>

#include "data/DataLoader.h"
#include "data/Tokenizer.h"
#include "dist/ParallelState.h"
#include "train/Checkpoint.h"
#include "train/FrozenModel.h"
#include "train/LrSchedule.h"
#include "train/MetricsLog.h"
#include "train/Optimizer.h"
#include "train/PipelineSchedule.h"
#include "train/PromptMethod.h"
#include "train/RunConfig.h"

namespace ptuner::train {

struct StepResult {
  double loss = 0;          // mean cross-entropy per target token (global)
  double total_loss = 0;    // with z-loss
  int64_t tokens = 0;       // input + target tokens, global
  int64_t target_tokens = 0;
};

class Trainer {
 public:
  // open_data = false builds no loader (benchmarks feeding their own batches to step(batch)).
  Trainer(const RunConfig& config, const dist::ParallelState& ps, bool open_data = true);

  // Continues from run.dir/checkpoint-last.h5 (resume) or starts fresh; trains to train.steps.
  void run(bool resume);
  // One optimizer step on the next global batch.
  StepResult step();
  // ... on this DP rank's share of a step given by the caller.
  StepResult step(const data::Batch& batch);

  std::string last_checkpoint_path() const { return config_.run.dir + "/checkpoint-last.h5"; }
  std::string best_checkpoint_path() const { return config_.run.dir + "/checkpoint-best.h5"; }
  std::string metrics_path() const { return config_.run.dir + "/metrics.jsonl"; }

  Checkpoint snapshot() const;
  void restore(const Checkpoint& checkpoint, const std::string& path);

  PromptMethod& prompt() { return *prompt_; }
  PipelineSchedule& schedule() { return *schedule_runner_; }
  FrozenModel& frozen() { return frozen_; }
  int64_t current_step() const { return step_; }
  // What the last step() ran on this rank: each pipeline flush's forwards and backwards, and
  // each micro-batch's shape {B, p + S, T} (encoder positions counting the prompt).
  const std::vector<std::vector<StageOp>>& last_step_flushes() const { return last_flushes_; }
  const std::vector<double>& last_step_flush_seconds() const { return last_flush_seconds_; }
  const std::vector<std::array<int64_t, 3>>& last_step_shapes() const { return last_shapes_; }

 private:
  std::map<std::string, torch::Tensor> trainable() const;
  std::map<std::string, double> maybe_evaluate();
  void save(const std::string& path);

  RunConfig config_;
  const dist::ParallelState& ps_;
  data::Tokenizer tokenizer_;
  FrozenModel frozen_;
  std::shared_ptr<PromptMethod> prompt_;
  std::unique_ptr<Optimizer> optimizer_;
  LrSchedule schedule_;
  std::unique_ptr<data::DataLoader> loader_;
  std::unique_ptr<mp::PipelineStage> stage_;
  std::unique_ptr<PipelineSchedule> schedule_runner_;
  int64_t step_ = 0;
  std::vector<std::vector<StageOp>> last_flushes_;
  std::vector<double> last_flush_seconds_;
  std::vector<std::array<int64_t, 3>> last_shapes_;
  double best_metric_;
  int64_t best_step_ = -1;
  std::string best_metric_name_;
};

// The prompt method a config asks for, initialised as configured (on the first pipeline stage,
// which holds the embedding; other stages keep zeros and never use it).
std::shared_ptr<PromptMethod> make_prompt(const RunConfig& config, const data::Tokenizer& tokenizer,
                                          FrozenModel& frozen);
std::unique_ptr<Optimizer> make_optimizer(const RunConfig& config);
// A DP rank's step batch cut into n micro-batches of consecutive rows, each trimmed to its own
// longest input and target.
std::vector<mp::MicroBatch> split_micro_batches(const data::Batch& batch, int64_t n);

}  // namespace ptuner::train
