#include "train/Trainer.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <limits>

#include "dist/Check.h"
#include "model_parallel/RngState.h"
#include "train/AdamW.h"
#include "train/Adafactor.h"
#include "train/DataOptions.h"
#include "train/Evaluator.h"
#include "train/SoftPrompt.h"

namespace ptuner::train {

namespace {

using Clock = std::chrono::steady_clock;

std::string hms(double seconds) {
  const auto s = static_cast<int64_t>(seconds + 0.5);
  return fmt::format("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
}

}  // namespace

std::vector<mp::MicroBatch> split_micro_batches(const data::Batch& batch, int64_t n) {
  PTUNER_CHECK(batch.size() % n == 0, "a batch of {} examples does not split into {} micro-batches", batch.size(), n);
  std::vector<mp::MicroBatch> out;
  const auto ids = batch.input_ids.chunk(n, 0), masks = batch.attention_mask.chunk(n, 0),
             labels = batch.labels.chunk(n, 0);
  for (int64_t i = 0; i < n; ++i) {
    // Padding is at the end of each row: keep the columns up to the longest row of this chunk.
    const int64_t s = std::max<int64_t>(masks[i].sum(1).max().item<int64_t>(), 1);
    const int64_t t = std::max<int64_t>((labels[i] != mp::kIgnoreIndex).sum(1).max().item<int64_t>(), 1);
    out.push_back({ids[i].narrow(1, 0, s).contiguous(), masks[i].narrow(1, 0, s).contiguous(),
                   labels[i].narrow(1, 0, t).contiguous()});
  }
  return out;
}

std::shared_ptr<PromptMethod> make_prompt(const RunConfig& c, const data::Tokenizer& tokenizer, FrozenModel& fm) {
  auto prompt = std::make_shared<SoftPrompt>(c.prompt.length, fm.config.d_model);
  SoftPromptInit init;
  init.kind = c.prompt.init;
  init.seed = c.train.seed;
  init.sample_top = c.prompt.sample_top;
  init.class_labels = c.prompt.class_labels;
  init.text = c.prompt.init_text;
  if (!fm.stage.first) return prompt;
  auto model = fm.model;
  prompt->initialise(init, tokenizer, [model](const torch::Tensor& ids) mutable {
    torch::NoGradGuard no_grad;
    return model->embed(ids);
  });
  return prompt;
}

std::unique_ptr<Optimizer> make_optimizer(const RunConfig& c) {
  if (c.optim.name == "adafactor") {
    AdafactorOptions o;
    o.decay_rate = c.optim.decay_rate;
    o.clipping_threshold = c.optim.clipping_threshold;
    o.weight_decay = c.optim.weight_decay;
    o.factored = c.optim.factored;
    return std::make_unique<Adafactor>(o);
  }
  AdamWOptions o;
  o.beta1 = c.optim.beta1;
  o.beta2 = c.optim.beta2;
  o.eps = c.optim.eps;
  o.weight_decay = c.optim.weight_decay;
  return std::make_unique<AdamW>(o);
}

Trainer::Trainer(const RunConfig& config, const dist::ParallelState& ps, bool open_data)
    : config_(config), ps_(ps), tokenizer_(config.tokenizer_path()), frozen_(build_frozen_model(config, ps)),
      schedule_(config.optim.schedule, config.optim.lr, config.optim.warmup_steps, config.train.steps),
      best_metric_(-std::numeric_limits<double>::infinity()) {
  PTUNER_CHECK(tokenizer_.vocab_size() <= frozen_.config.vocab_size,
               "tokenizer {} has {} ids but the model {} has only {} embedding rows: they do not belong together",
               tokenizer_.model_path(), tokenizer_.vocab_size(), frozen_.source, frozen_.config.vocab_size);
  PTUNER_CHECK(!open_data || !config_.data.train.empty() || !config_.data.mixture.empty(),
               "{}: neither data.train nor [[data.mixture]] is set", config_.source);
  torch::manual_seed(config_.train.seed);
  prompt_ = make_prompt(config_, tokenizer_, frozen_);
  optimizer_ = make_optimizer(config_);
  if (open_data)
    loader_ = std::make_unique<data::DataLoader>(training_loader_options(config_, ps_.dp_rank(), ps_.dp_size()),
                                                 tokenizer_);
  stage_ = std::make_unique<mp::PipelineStage>(frozen_.model, config_.prompt.length);
  schedule_runner_ = std::make_unique<PipelineSchedule>(*stage_, ps_, config_.pipeline.schedule);
  frozen_.model->train();  // dropout as configured (Lester: dropout_rate 0)
}

std::map<std::string, torch::Tensor> Trainer::trainable() const {
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : prompt_->named_parameters()) out[item.key()] = item.value();
  return out;
}

StepResult Trainer::step() {
  PTUNER_CHECK(loader_, "this trainer was built without its data loader");
  return step(loader_->next());
}

StepResult Trainer::step(const data::Batch& batch) {
  const auto params = trainable();
  for (auto& [name, p] : params) p.mutable_grad() = torch::zeros_like(p);
  // grad_accum pipeline flushes of micro_batches micro-batches each, on every DP replica.
  const int64_t per_flush = config_.pipeline.micro_batches;
  const auto micro = split_micro_batches(batch, config_.train.grad_accum * per_flush);
  const double local_targets = static_cast<double>(batch.num_target_tokens);
  const double local_tokens = static_cast<double>(batch.num_target_tokens + batch.num_input_tokens);
  const double global_targets = ps_.dp().all_reduce_scalar(local_targets, dist::ReduceOp::Sum);
  PTUNER_CHECK(global_targets > 0, "step {}: the global batch has no target tokens", step_);
  double ce = 0, total = 0;
  last_flushes_.clear();
  last_flush_seconds_.clear();
  last_shapes_.clear();
  for (const auto& mb : micro)
    last_shapes_.push_back({mb.input_ids.size(0), config_.prompt.length + mb.input_ids.size(1), mb.labels.size(1)});
  for (int64_t g = 0; g < config_.train.grad_accum; ++g) {
    std::vector<mp::MicroBatch> flush(micro.begin() + g * per_flush, micro.begin() + (g + 1) * per_flush);
    auto sums = schedule_runner_->run(flush, *prompt_, config_.train.z_loss, global_targets);
    last_flushes_.push_back(schedule_runner_->ops());
    last_flush_seconds_.push_back(schedule_runner_->run_seconds());
    ce += sums.ce;
    total += sums.total;
  }
  // The loss lives on the last stage: share it along the pipeline.
  ce = ps_.pp().all_reduce_scalar(ce, dist::ReduceOp::Sum);
  total = ps_.pp().all_reduce_scalar(total, dist::ReduceOp::Sum);
  // Only the first stage owns the prompt. Each DP rank's gradient is its share of the global
  // mean: the sum over DP is the full gradient.
  if (ps_.is_first_stage()) {
    for (auto& [name, p] : params) ps_.dp().all_reduce(p.mutable_grad(), dist::ReduceOp::Sum);
    optimizer_->step(params, schedule_.at(step_));
  }
  ++step_;
  StepResult r;
  r.loss = ps_.dp().all_reduce_scalar(ce, dist::ReduceOp::Sum) / global_targets;
  r.total_loss = ps_.dp().all_reduce_scalar(total, dist::ReduceOp::Sum) / global_targets;
  r.tokens = static_cast<int64_t>(ps_.dp().all_reduce_scalar(local_tokens, dist::ReduceOp::Sum));
  r.target_tokens = static_cast<int64_t>(global_targets);
  return r;
}

Checkpoint Trainer::snapshot() const {
  Checkpoint c;
  c.step = step_;
  c.method = prompt_->method();
  for (const auto& [name, p] : trainable()) c.params[name] = p.detach().clone();
  c.optimizer_name = optimizer_->name();
  c.optimizer = optimizer_->state();
  if (loader_) c.data_position = loader_->position();
  c.rng_state = mp::cpu_rng_state();
  c.config_toml = config_.toml;
  c.model_fingerprint = frozen_.fingerprint;
  c.best_metric = best_metric_;
  c.best_step = best_step_;
  return c;
}

void Trainer::restore(const Checkpoint& ck, const std::string& path) {
  ck.check_model(frozen_.fingerprint, path);
  PTUNER_CHECK(ck.method == prompt_->method(), "checkpoint {} holds a '{}' prompt, the config asks for '{}'", path,
               ck.method, prompt_->method());
  PTUNER_CHECK(ck.optimizer_name == optimizer_->name(), "checkpoint {} was trained with {}, the config asks for {}",
               path, ck.optimizer_name, optimizer_->name());
  prompt_->load_parameters(ck.params, path);
  optimizer_->load_state(ck.optimizer);
  if (loader_) loader_->seek(ck.data_position);
  if (ck.rng_state.defined()) mp::set_cpu_rng_state(ck.rng_state);
  step_ = ck.step;
  best_metric_ = ck.best_metric;
  best_step_ = ck.best_step;
}

void Trainer::save(const std::string& path) {
  auto ck = snapshot();  // collective-free; only the writer touches the file
  if (ps_.is_writer()) ck.save(path);
  ps_.world().barrier();
}

std::map<std::string, double> Trainer::maybe_evaluate() {
  if (config_.data.dev.empty()) return {};
  return evaluate(frozen_.model, *prompt_, tokenizer_, ps_, EvalOptions::from(config_)).metrics;
}

void Trainer::run(bool resume) {
  namespace fs = std::filesystem;
  const auto& t = config_.train;
  PTUNER_CHECK(loader_, "this trainer was built without its data loader");
  if (ps_.is_writer()) fs::create_directories(config_.run.dir);
  ps_.world().barrier();
  if (resume) {
    PTUNER_CHECK(fs::exists(last_checkpoint_path()), "--resume: {} does not exist, nothing to resume",
                 last_checkpoint_path());
    restore(Checkpoint::load(last_checkpoint_path()), last_checkpoint_path());
    spdlog::info("resumed from {} at step {}", last_checkpoint_path(), step_);
  } else {
    PTUNER_CHECK(!fs::exists(last_checkpoint_path()),
                 "run.dir {} already holds a checkpoint: pass --resume to continue it, or choose another run.dir",
                 config_.run.dir);
  }
  std::unique_ptr<MetricsLog> log;
  if (ps_.is_writer()) log = std::make_unique<MetricsLog>(metrics_path(), resume ? step_ : 0);
  spdlog::info("training {} prompt ({} × {}) on {}, layout {}, {} steps of {} examples", prompt_->method(),
               config_.prompt.length, frozen_.config.d_model, frozen_.source, ps_.layout().str(), t.steps,
               t.batch_size);
  const auto start = Clock::now();
  const int64_t first = step_;
  int64_t tokens_since = 0;
  double loss_sum = 0;
  int64_t loss_count = 0;
  auto window = Clock::now();
  while (step_ < t.steps) {
    auto r = step();
    tokens_since += r.tokens;
    loss_sum += r.loss;
    ++loss_count;
    if (step_ % t.log_every == 0 || step_ == t.steps) {
      const double dt = std::chrono::duration<double>(Clock::now() - window).count();
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      const double tps = tokens_since / std::max(dt, 1e-9);
      const double eta = elapsed / static_cast<double>(step_ - first) * static_cast<double>(t.steps - step_);
      const double lr = schedule_.at(step_ - 1);
      spdlog::info("step {}/{} | loss {:.4f} | lr {:.3g} | {:.0f} tokens/s | ETA {}", step_, t.steps,
                   loss_sum / loss_count, lr, tps, hms(eta));
      if (log)
        log->write({{"step", step_}, {"loss", loss_sum / loss_count}, {"last_loss", r.loss},
                    {"total_loss", r.total_loss}, {"lr", lr}, {"tokens_per_s", tps},
                    {"target_tokens", r.target_tokens}, {"skipped_records", loader_->skipped()},
                    {"elapsed_s", elapsed}});
      tokens_since = 0, loss_sum = 0, loss_count = 0;
      window = Clock::now();
    }
    if (t.eval_every > 0 && step_ % t.eval_every == 0) {
      auto m = maybe_evaluate();
      if (!m.empty()) {
        const std::string metric = select_metric(m, t.best_metric);
        const double value = m.at(metric);
        spdlog::info("eval at step {}: {} = {:.4f} over {} examples", step_, metric, value, m["examples"]);
        nlohmann::json rec = {{"step", step_}};
        for (const auto& [k, v] : m) rec["eval_" + k] = v;
        if (log) log->write(rec);
        best_metric_name_ = metric;
        if (value > best_metric_) {
          best_metric_ = value;
          best_step_ = step_;
          save(best_checkpoint_path());
        }
      }
    }
    if (t.save_every > 0 && step_ % t.save_every == 0) save(last_checkpoint_path());
  }
  save(last_checkpoint_path());
  spdlog::info("done: prompt checkpoint {}{}, metrics {}", last_checkpoint_path(),
               best_step_ >= 0 ? fmt::format(", best ({} {:.4f} at step {}) {}", best_metric_name_, best_metric_,
                                             best_step_, best_checkpoint_path())
                               : "",
               metrics_path());
}

}  // namespace ptuner::train
