#pragma once
// The prompt-tuning loop. Each step: every DP rank runs grad_accum micro-batches of its share of
// the global batch; the loss is normalised by the global number of target tokens, so summing the
// prompt gradients over DP gives exactly the single-rank gradient of the whole batch.
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "data/DataLoader.h"
#include "data/Tokenizer.h"
#include "dist/ParallelState.h"
#include "model_parallel/PipelineLink.h"
#include "model_parallel/PipelineSchedule.h"
#include "model_parallel/PipelineStage.h"
#include "train/Checkpoint.h"
#include "train/FrozenModel.h"
#include "train/LrSchedule.h"
#include "train/MetricsLog.h"
#include "train/Optimizer.h"
#include "train/PromptMethod.h"
#include "train/RunConfig.h"

namespace ptuner::train {

struct StepResult {
  bool skipped = false;     // the loss or a prompt gradient was not finite: no update was made
  double loss = 0;          // mean cross-entropy per target token (global)
  double total_loss = 0;    // with z-loss
  int64_t tokens = 0;       // input + target tokens, global
  int64_t target_tokens = 0;
};

class Trainer {
 public:
  // The data loader is opened here when the config names training data, else when first needed
  // (step() or run()): a caller feeding its own batches to step(batch) needs no data.train.
  Trainer(const RunConfig& config, const dist::ParallelState& ps);

  // Continues from run.dir/checkpoint-last.h5 (resume) or starts fresh (overwrite: removing an
  // earlier run's checkpoints and metrics first); trains to train.steps. Holds run.dir's lock
  // throughout. A stop signal (SIGTERM, SIGINT, SIGUSR1; see RunGuard.h) ends it at the next step
  // boundary with checkpoint-last.h5 written: returns false then, true when it reached train.steps.
  bool run(bool resume, bool overwrite = false);
  // One optimizer step on the next global batch.
  StepResult step();
  // ... on this DP rank's share of a step given by the caller.
  StepResult step(const data::Batch& batch);
  // This DP rank's share of the next step, from the run's data.
  data::Batch next_batch();

  std::string last_checkpoint_path() const { return config_.run.dir + "/checkpoint-last.h5"; }
  std::string best_checkpoint_path() const { return config_.run.dir + "/checkpoint-best.h5"; }
  std::string metrics_path() const { return config_.run.dir + "/metrics.jsonl"; }

  // The whole trainable state at its global names, gathered from the stages, and every rank's
  // generator states. Collective over the world.
  Checkpoint snapshot() const;
  // Every rank: keeps its stage's share of the state and, at the layout that wrote it, its own
  // generator states (elsewhere generators are seeded afresh from train.seed and the step).
  void restore(const Checkpoint& checkpoint, const std::string& path);

  PromptMethod& prompt() { return *prompt_; }
  const Optimizer& optimizer() const { return *optimizer_; }
  FrozenModel& frozen() { return frozen_; }
  int64_t current_step() const { return step_; }
  // The forwards, backwards and exchanges of every pipeline flush are announced to `observer`
  // (a benchmark's timer); nullptr: none.
  void set_observer(mp::PipelineObserver* observer);
  // Fault injection for tests: called with this rank's prompt gradients of each step, after the
  // backward passes and before any reduction.
  void set_gradient_hook(std::function<void(std::map<std::string, torch::Tensor>&)> hook) {
    gradient_hook_ = std::move(hook);
  }
  // Steps skipped for a non-finite loss or gradient (in all; in a row now).
  int64_t nonfinite_steps() const { return nonfinite_steps_; }

 private:
  std::map<std::string, torch::Tensor> trainable() const;
  // Parameter `name`'s learning rate and weight decay at `step` (its group's peak on the schedule).
  ParamRate rate_at(const std::string& name, int64_t step) const;
  std::map<std::string, double> maybe_evaluate();
  void save(const std::string& path);
  data::DataLoader& loader();
  bool has_training_data() const;  // data.train or [[data.mixture]]
  // Seeds this rank's generators by the RNG policy; salt: 0 at the start, the step on a resume
  // at another layout.
  void seed_generators(uint64_t salt);

  RunConfig config_;
  const dist::ParallelState& ps_;
  data::Tokenizer tokenizer_;
  FrozenModel frozen_;
  std::shared_ptr<PromptMethod> prompt_;
  std::unique_ptr<Optimizer> optimizer_;
  LrSchedule schedule_;
  mutable std::map<double, LrSchedule> group_schedules_;  // other groups' peaks
  data::LoaderOptions loader_options_;
  std::unique_ptr<data::DataLoader> loader_;
  std::optional<data::LoaderPosition> restored_position_;  // for a loader not yet opened
  std::unique_ptr<mp::PipelineStage> stage_;
  std::unique_ptr<mp::PipelineLink> link_;
  mp::Schedule schedule_fn_;
  mp::PipelineObserver* observer_ = nullptr;
  std::function<void(std::map<std::string, torch::Tensor>&)> gradient_hook_;
  int64_t nonfinite_steps_ = 0, nonfinite_in_a_row_ = 0;
  bool prompt_initialised_ = true;  // false: a resume whose transfer source has moved
  // A transferred prompt's source (prompt.init = "file"), recorded in every checkpoint.
  std::string init_file_, init_digest_, init_fingerprint_;
  int64_t step_ = 0;
  double best_metric_;
  int64_t best_step_ = -1;
  std::string best_metric_name_;
};

// The prompt method a config asks for on this rank's stage, initialised as configured.
// The checks a resume makes of run.dir/checkpoint-last.h5, without loading the frozen model (so
// that a bad file fails in seconds, not after loading 11B weights): it opens and passes its
// checksums, holds finite values, was trained on this config's model (fingerprint), holds this
// method's hyper-parameters and shapes, and no meaning-giving config key changed. Any rank.
void check_resumable(const RunConfig& config);

// initialise = false: zeros, for a caller that loads the values (eval of a checkpoint).
std::shared_ptr<PromptMethod> make_prompt(const RunConfig& config, const data::Tokenizer& tokenizer,
                                          FrozenModel& frozen, const dist::ParallelState& ps, bool initialise = true);
std::unique_ptr<Optimizer> make_optimizer(const RunConfig& config);
// A DP rank's step batch cut into n micro-batches of consecutive rows, each trimmed to its own
// longest input and target, carrying its rows' prompt ids (the batch's sources) and the
// prompt's encoder prefix length, on `device`.
std::vector<mp::MicroBatch> split_micro_batches(const data::Batch& batch, int64_t n, int64_t prefix_length = 0,
                                                const torch::Device& device = torch::kCPU);

}  // namespace ptuner::train
