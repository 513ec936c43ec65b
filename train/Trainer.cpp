#include "train/Trainer.h"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <numeric>

#include "dist/Check.h"
#include "dist/ProcessMemory.h"
#include "model_parallel/RngState.h"
#include "train/AdamW.h"
#include "train/Adafactor.h"
#include "data/Task.h"
#include "train/DataOptions.h"
#include "train/RunGuard.h"
#include "train/Evaluator.h"
#include "train/PromptExport.h"
#include "train/Spot.h"
#include "train/StageState.h"

namespace ptuner::train {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kTrainTag = 7;

std::string hms(double seconds) {
  const auto s = static_cast<int64_t>(seconds + 0.5);
  return fmt::format("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
}

}  // namespace

std::vector<mp::MicroBatch> split_micro_batches(const data::Batch& batch, int64_t n, int64_t prefix_length,
                                                const torch::Device& device) {
  PTUNER_CHECK(batch.size() % n == 0, "a batch of {} examples does not split into {} micro-batches", batch.size(), n);
  std::vector<mp::MicroBatch> out;
  const auto ids = batch.input_ids.chunk(n, 0), masks = batch.attention_mask.chunk(n, 0),
             labels = batch.labels.chunk(n, 0);
  std::vector<torch::Tensor> prompt_ids;
  if (!batch.sources.empty()) {
    PTUNER_CHECK(static_cast<int64_t>(batch.sources.size()) == batch.size(),
                 "a batch of {} rows carries {} sources", batch.size(), batch.sources.size());
    prompt_ids = torch::tensor(batch.sources, torch::kLong).chunk(n, 0);
  }
  for (int64_t i = 0; i < n; ++i) {
    // Padding is at the end of each row: keep the columns up to the longest row of this chunk.
    const int64_t s = std::max<int64_t>(masks[i].sum(1).max().item<int64_t>(), 1);
    const int64_t t = std::max<int64_t>((labels[i] != mp::kIgnoreIndex).sum(1).max().item<int64_t>(), 1);
    mp::MicroBatch mb;
    mb.input_ids = ids[i].narrow(1, 0, s).contiguous().to(device);
    mb.attention_mask = masks[i].narrow(1, 0, s).contiguous().to(device);
    mb.labels = labels[i].narrow(1, 0, t).contiguous().to(device);
    if (!prompt_ids.empty()) mb.prompt_ids = prompt_ids[i].contiguous();  // on the host: see MicroBatch
    mb.prefix_length = prefix_length;
    out.push_back(std::move(mb));
  }
  return out;
}

std::shared_ptr<PromptMethod> make_prompt(const RunConfig& c, const data::Tokenizer& tokenizer, FrozenModel& fm,
                                          const dist::ParallelState& ps, bool initialise) {
  PromptPlace place;
  place.first_block = fm.stage.first_block(fm.config.num_layers);
  place.end_block = fm.stage.end_block(fm.config.num_layers);
  place.holds_embedding = fm.stage.first;
  place.tp_rank = ps.tp_rank();
  place.tp_size = ps.tp_size();
  place.device = ps.device();
  PromptMethodArgs args{c, fm.config, place, &tokenizer, initialise, {}, {}, {}};
  auto model = fm.model;
  if (fm.stage.first) {
    args.embed = [model](const torch::Tensor& ids) mutable {
      torch::NoGradGuard no_grad;
      return model->embed(ids.to(model->device())).to(torch::kFloat32).cpu();
    };
  }
  const dist::ParallelState* state = &ps;
  args.share_rows = [state, model](const torch::Tensor& rows) {
    if (state->pp_size() == 1) return rows;
    auto t = rows.to(model->device(), torch::kFloat32).contiguous();
    state->pp().broadcast(t, 0);
    return t.cpu();
  };
  args.project_kv = [state, model](int64_t g, const torch::Tensor& x, bool cross) mutable {
    torch::NoGradGuard no_grad;
    auto [k, v] = model->project_kv(g, x.to(model->device(), model->dtype()), cross);
    // [n, heads/tp · d_kv] per TP rank -> [n, heads · d_kv]: TP rank r holds heads r·heads/tp, ….
    auto every_head = [&](const torch::Tensor& local) {
      const int64_t n = local.size(0), w = local.size(1), tp = state->tp_size();
      if (tp == 1) return local.to(torch::kFloat32).cpu();
      auto all = state->tp().all_gather(local.contiguous());  // [tp·n, w]
      return all.view({tp, n, w}).permute({1, 0, 2}).reshape({n, tp * w}).to(torch::kFloat32).cpu();
    };
    return std::make_pair(every_head(k), every_head(v));
  };
  return make_prompt_method(args);
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

namespace {

// The config, once what needs no weights is checked: a typo in the prompt method or in a data
// file's path fails before the model loads (an XXL load takes minutes), not after.
const RunConfig& checked_before_loading(const RunConfig& c) {
  check_prompt_method(c);
  auto exists = [&](const std::string& key, const std::string& path) {
    PTUNER_CHECK(path.empty() || std::filesystem::exists(path), "{}: {} {} does not exist", c.source, key, path);
  };
  exists("data.train", c.data.train);
  for (size_t i = 0; i < c.data.mixture.size(); ++i)
    exists(fmt::format("data.mixture[{}].train", i), c.data.mixture[i].train);
  check_eval_needs(c);  // every dev file exists and has labels to score
  return c;
}

}  // namespace

Trainer::Trainer(const RunConfig& config, const dist::ParallelState& ps)
    : config_(checked_before_loading(config)), ps_(ps), tokenizer_(config.tokenizer_path()), frozen_(build_frozen_model(config, ps)),
      schedule_(config.optim.schedule, config.optim.lr, config.optim.warmup_steps, config.train.steps),
      best_metric_(-std::numeric_limits<double>::infinity()) {
  check_tokenizer_fits(tokenizer_, frozen_.config, frozen_.source);
  seed_generators(0);
  // A resumed run's prompt comes from its checkpoint: a transfer source that has since moved is
  // not needed (its record is in the checkpoint).
  const bool resuming_without_source = config_.prompt.init == "file" &&
                                       !std::filesystem::exists(config_.prompt.init_file) &&
                                       std::filesystem::exists(last_checkpoint_path());
  if (config_.prompt.init == "file" && !resuming_without_source) {
    // SPoT transfer: a source trained on another frozen model is no init for this one.
    const auto source = read_source_prompt(config_.prompt.init_file);
    check_source_model(source, frozen_.source, frozen_.fingerprint);
    init_file_ = source.path, init_digest_ = source.digest, init_fingerprint_ = source.model_fingerprint;
  }
  prompt_ = make_prompt(config_, tokenizer_, frozen_, ps_, !resuming_without_source);
  prompt_initialised_ = !resuming_without_source;
  optimizer_ = make_optimizer(config_);
  loader_options_ = training_loader_options(config_, ps_.dp_rank(), ps_.dp_size());
  // Opened now when the config names training data (a bad file fails here, before any step);
  // otherwise when first needed, so that a caller feeding its own batches needs none.
  if (has_training_data()) loader();
  stage_ = std::make_unique<mp::PipelineStage>(frozen_.model);
  link_ = std::make_unique<mp::PipelineLink>(ps_, stage_->activation_options(), kTrainTag);
  schedule_fn_ = mp::schedule_named(config_.pipeline.schedule);
  frozen_.model->train();  // dropout as configured (Lester: dropout_rate 0)
}

data::DataLoader& Trainer::loader() {
  if (!loader_) {
    PTUNER_CHECK(has_training_data(), "{}: neither data.train nor [[data.mixture]] is set", config_.source);
    loader_ = std::make_unique<data::DataLoader>(loader_options_, tokenizer_);
    if (restored_position_) loader_->seek(*restored_position_);
    restored_position_.reset();
  }
  return *loader_;
}

bool Trainer::has_training_data() const { return !config_.data.train.empty() || !config_.data.mixture.empty(); }

void Trainer::seed_generators(uint64_t salt) {
  // RNG policy (model_parallel/RngState.h): one seed per TP group, another per replica and stage.
  mp::seed_rank_generators(ps_.device(),
                           mp::rank_seed(config_.train.seed, ps_.pp_rank(), ps_.dp_rank(), ps_.dp_size(), salt));
}

data::Batch Trainer::next_batch() { return loader().next(); }

namespace {

// The meaning-giving keys a resume would change, as one error (empty: none); the others logged.
std::vector<std::string> refused_changes(const Checkpoint& ck, const RunConfig& config, bool log) {
  std::vector<std::string> refused;
  for (const auto& change : resume_changes(ck.config_toml, config)) {
    const auto line = fmt::format("{}: {} -> {}", change.key, change.before, change.after);
    if (change.refused)
      refused.push_back(line);
    else if (log)
      spdlog::info("resume: {} (changed)", line);
  }
  return refused;
}

// run.dir's checkpoint-last.h5, or an error that says whether a checkpoint-best.h5 is there to copy.
void require_last_checkpoint(const std::string& last, const std::string& best) {
  if (std::filesystem::exists(last)) return;
  PTUNER_CHECK(!std::filesystem::exists(best),
               "--resume: {} does not exist, but {} does: to continue from the best step, copy it to "
               "checkpoint-last.h5 and --resume again",
               last, best);
  PTUNER_FAIL("--resume: {} does not exist, nothing to resume", last);
}

void check_no_refused(const std::vector<std::string>& refused, const std::string& path) {
  PTUNER_CHECK(refused.empty(),
               "--resume: {} was written with another {}: {} (these change what its state means; start a new run.dir "
               "instead)",
               path, refused.size() == 1 ? "setting" : "settings", fmt::join(refused, "; "));
}

}  // namespace

void check_resumable(const RunConfig& config) {
  const std::string last = config.run.dir + "/checkpoint-last.h5";
  require_last_checkpoint(last, config.run.dir + "/checkpoint-best.h5");
  const auto ck = Checkpoint::load(last);  // checksums, finite values
  ck.check_model(frozen_fingerprint(config), last);
  check_no_refused(refused_changes(ck, config, false), last);
  auto method = whole_prompt_method(config, architecture_of(config));
  method->check_saved(ck.method, ck.prompt_config, "checkpoint " + last);
  method->load_parameters(ck.params, last);  // names and shapes
}

void Trainer::set_observer(mp::PipelineObserver* observer) {
  observer_ = observer;
  link_->set_observer(observer);
}

std::map<std::string, torch::Tensor> Trainer::trainable() const {
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : prompt_->named_parameters()) out[item.key()] = item.value();
  return out;
}

StepResult Trainer::step() { return step(next_batch()); }

ParamRate Trainer::rate_at(const std::string& name, int64_t step) const {
  auto r = prompt_->rate(name);
  // A group's peak rate on the run's schedule (optim.lr's own schedule where it is that rate).
  if (r.lr == config_.optim.lr) return {schedule_.at(step), r.weight_decay};
  auto it = group_schedules_.find(r.lr);
  if (it == group_schedules_.end())
    it = group_schedules_
             .emplace(r.lr, LrSchedule(config_.optim.schedule, r.lr, config_.optim.warmup_steps, config_.train.steps))
             .first;
  return {it->second.at(step), r.weight_decay};
}

StepResult Trainer::step(const data::Batch& batch) {
  const auto params = trainable();
  for (auto& [name, p] : params) p.mutable_grad() = torch::zeros_like(p);
  // grad_accum pipeline flushes of micro_batches micro-batches each, on every DP replica.
  const int64_t per_flush = config_.pipeline.micro_batches;
  const auto micro =
      split_micro_batches(batch, config_.train.grad_accum * per_flush, prompt_->prefix_length(), ps_.device());
  const double local_targets = static_cast<double>(batch.num_target_tokens);
  const double local_tokens = static_cast<double>(batch.num_target_tokens + batch.num_input_tokens);
  const double global_targets = ps_.dp().all_reduce_scalar(local_targets, dist::ReduceOp::Sum);
  PTUNER_CHECK(global_targets > 0, "step {}: the global batch has no target tokens", step_);
  // The loss sums stay on the device (in fp64, summed in the order the host summed them) and cross
  // to the host once per step, not once per micro-batch.
  auto ce_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(ps_.device()));
  auto total_sum = ce_sum.clone();
  for (int64_t g = 0; g < config_.train.grad_accum; ++g) {
    const mp::MicroBatch* flush = micro.data() + g * per_flush;
    // One micro-batch on this stage: the prompt method's injection, the stage's blocks and, on
    // the last stage, the loss as a share of the step's global mean.
    mp::StageStep stage_step{
        [&](int64_t i) { return stage_->input_shapes(flush[i]); },
        [&](int64_t i) { return stage_->output_shapes(flush[i]); },
        [&](int64_t i, const std::vector<torch::Tensor>& inputs) -> std::vector<torch::Tensor> {
          auto out = stage_->forward(flush[i], inputs, prompt_->injection(flush[i]));
          if (!ps_.is_last_stage()) return out;
          auto sums = stage_->loss(out.at(0), flush[i].labels, config_.train.z_loss);
          ce_sum += sums.ce.to(torch::kFloat64);
          total_sum += sums.total.detach().to(torch::kFloat64);
          return {sums.total / global_targets};
        }};
    schedule_fn_(per_flush, *link_, stage_step, observer_);
  }
  if (gradient_hook_) {
    auto grads = std::map<std::string, torch::Tensor>();
    for (auto& [name, p] : params) grads[name] = p.mutable_grad();
    gradient_hook_(grads);
  }
  // Every stage steps the parameters it owns. A head-split parameter's gradient is summed over
  // TP first, a parameter every stage holds over the pipeline; each DP rank's gradient is its
  // share of the global mean, so the sum over DP is the full gradient.
  std::map<std::string, ParamRate> rates;
  for (auto& [name, p] : params) {
    if (prompt_->tp_partial(name)) ps_.tp().all_reduce(p.mutable_grad(), dist::ReduceOp::Sum);
    if (prompt_->pp_shared(name)) ps_.pp().all_reduce(p.mutable_grad(), dist::ReduceOp::Sum);
    ps_.dp().all_reduce(p.mutable_grad(), dist::ReduceOp::Sum);
    rates[name] = rate_at(name, step_);
  }
  // The step's one host round trip: the loss sums and whether the reduced gradients are finite.
  // The loss lives on the last stage: share it along the pipeline.
  auto finite = torch::ones({}, torch::TensorOptions().dtype(torch::kBool).device(ps_.device()));
  for (auto& [name, p] : params) finite = finite.logical_and(torch::isfinite(p.grad()).all());
  const auto host = torch::stack({ce_sum, total_sum, finite.to(torch::kFloat64)}).cpu();
  const double ce = ps_.pp().all_reduce_scalar(host[0].item<double>(), dist::ReduceOp::Sum);
  const double total = ps_.pp().all_reduce_scalar(host[1].item<double>(), dist::ReduceOp::Sum);
  // A non-finite loss or gradient anywhere: every rank skips the update (the data is consumed and
  // the step counted, so positions stay exact); too many in a row stop the run.
  double bad = std::isfinite(ce) && std::isfinite(total) && host[2].item<double>() > 0 ? 0.0 : 1.0;
  // Every rank agrees: over TP (a rank's own gradient), the pipeline (other stages' parameters)
  // and DP (other replicas' losses).
  for (auto* group : {&ps_.tp(), &ps_.pp(), &ps_.dp()}) bad = group->all_reduce_scalar(bad, dist::ReduceOp::Max);
  const bool skipped = bad > 0;
  if (skipped) {
    ++nonfinite_steps_, ++nonfinite_in_a_row_;
    if (ps_.is_writer())
      spdlog::warn("step {}: the loss or a prompt gradient is not finite; the step is skipped ({} in a row, {} in all)",
                   step_ + 1, nonfinite_in_a_row_, nonfinite_steps_);
    PTUNER_CHECK(nonfinite_in_a_row_ < config_.train.max_nonfinite_steps,
                 "{} steps in a row (to step {}) had a non-finite loss or prompt gradient (train.max_nonfinite_steps "
                 "= {}): stopping; the prompt was not updated by any of them",
                 nonfinite_in_a_row_, step_ + 1, config_.train.max_nonfinite_steps);
  } else {
    nonfinite_in_a_row_ = 0;
    optimizer_->step(params, rates);
  }
  ++step_;
  StepResult r;
  r.skipped = skipped;
  r.loss = ps_.dp().all_reduce_scalar(ce, dist::ReduceOp::Sum) / global_targets;
  r.total_loss = ps_.dp().all_reduce_scalar(total, dist::ReduceOp::Sum) / global_targets;
  r.tokens = static_cast<int64_t>(ps_.dp().all_reduce_scalar(local_tokens, dist::ReduceOp::Sum));
  r.target_tokens = static_cast<int64_t>(global_targets);
  return r;
}

namespace {

// Every world rank's state of one generator, row r = rank r's (host-side gather, any backend).
torch::Tensor gather_rng(const torch::Tensor& mine, dist::Communicator& world) {
  std::vector<torch::Tensor> rows;
  for (const auto& part : world.all_gather_bytes(pack_named({{"rng", mine}}))) {
    rows.push_back(unpack_named(part).at("rng"));
    PTUNER_CHECK(rows.back().numel() == mine.numel(), "generator states differ in size across ranks ({} and {} bytes)",
                 rows.back().numel(), mine.numel());
  }
  return torch::stack(rows);
}

}  // namespace

Checkpoint Trainer::snapshot() const {
  Checkpoint c;
  c.step = step_;
  c.method = prompt_->method();
  c.prompt_config = prompt_->hyper_parameters().dump();
  c.init_file = init_file_, c.init_digest = init_digest_, c.init_fingerprint = init_fingerprint_;
  std::map<std::string, torch::Tensor> mine;
  for (const auto& [name, p] : trainable()) mine[name] = p.detach();
  c.params = gather_over_stages(mine, ps_.pp());
  c.optimizer_name = optimizer_->name();
  c.optimizer = gather_over_stages(optimizer_->state(), ps_.pp());
  if (loader_) c.data_position = loader_->position();
  else if (restored_position_) c.data_position = *restored_position_;
  const auto rng = mp::GeneratorStates::capture(ps_.device());
  c.rng_cpu = gather_rng(rng.cpu, ps_.world());
  if (rng.accelerator.defined()) c.rng_device = gather_rng(rng.accelerator, ps_.world());
  c.rng_layout = ps_.layout().str();
  c.config_toml = config_.toml;
  c.model_fingerprint = frozen_.fingerprint;
  c.best_metric = best_metric_;
  c.best_step = best_step_;
  return c;
}

void Trainer::restore(const Checkpoint& ck, const std::string& path) {
  ck.check_model(frozen_.fingerprint, path);
  prompt_->check_saved(ck.method, ck.prompt_config, "checkpoint " + path);
  PTUNER_CHECK(ck.optimizer_name == optimizer_->name(), "checkpoint {} was trained with {}, the config asks for {}",
               path, ck.optimizer_name, optimizer_->name());
  prompt_->load_parameters(ck.params, path);
  // This stage's optimizer slots ("<param>/<slot>" of the parameters it owns) and the step count.
  const auto params = trainable();
  std::map<std::string, torch::Tensor> slots;
  for (const auto& [name, t] : ck.optimizer) {
    const auto slash = name.rfind('/');
    if (name == "step" || (slash != std::string::npos && params.count(name.substr(0, slash))))
      slots[name] = name == "step" ? t : t.to(ps_.device());
  }
  optimizer_->load_state(slots);
  if (loader_)
    loader_->seek(ck.data_position);
  else
    restored_position_ = ck.data_position;
  const int rank = ps_.world_rank();
  if (ck.rng_cpu.defined() && ck.rng_layout == ps_.layout().str() && ck.rng_cpu.size(0) == ps_.world_size() &&
      (ps_.device().is_cpu() || ck.rng_device.defined())) {
    mp::GeneratorStates own;
    own.device = ps_.device();
    own.cpu = ck.rng_cpu[rank].clone();
    if (!ps_.device().is_cpu()) own.accelerator = ck.rng_device[rank].clone();
    own.restore();
  } else {
    // Another layout: these streams cannot continue; start new ones that depend on the step.
    seed_generators(static_cast<uint64_t>(ck.step));
    if (ps_.is_writer())
      spdlog::info("checkpoint {} holds generator states of layout '{}'; at {} every rank is seeded afresh", path,
                   ck.rng_layout, ps_.layout().str());
  }
  step_ = ck.step;
  init_file_ = ck.init_file, init_digest_ = ck.init_digest, init_fingerprint_ = ck.init_fingerprint;
  best_metric_ = ck.best_metric;
  best_step_ = ck.best_step;
  // A best measured on other dev sets, by another metric, or another way is no bar for this run's
  // evaluations: the next one writes checkpoint-best.h5 again.
  if (best_step_ >= 0 && !ck.config_toml.empty()) {
    const auto saved = RunConfig::from_string(ck.config_toml, path + ":/meta/config", {}, /*validate=*/false);
    auto measure = [](const RunConfig& c) {
      std::string s = fmt::format("{}|{}|{}|{}|{}|{}", c.data.task, c.data.dev, c.data.eval_method,
                                  c.data.eval_max_examples, c.train.best_metric, fmt::join(c.prompt.class_labels, ","));
      for (const auto& m : c.data.mixture) s += "|" + m.task + "=" + m.dev;
      // A further dev set counts where train.best_metric names its metric; else it may come and go.
      for (size_t i = 0; i < c.data.eval_set.size(); ++i) {
        const auto e = c.data.eval_set_entry(i);
        if (c.train.best_metric.rfind(e.name + "/", 0) == 0) s += "|" + e.name + "(" + e.task + ")=" + e.dev;
      }
      return s;
    };
    if (measure(saved) != measure(config_)) {
      if (ps_.is_writer())
        spdlog::warn("resume: the dev sets, data.eval_method, data.eval_max_examples or train.best_metric changed since "
                     "{}: its best ({:.4f} at step {}) was measured otherwise; the next evaluation writes {} afresh",
                     path, best_metric_, best_step_, best_checkpoint_path());
      best_metric_ = -std::numeric_limits<double>::infinity();
      best_step_ = -1;
    }
  }
}

void Trainer::save(const std::string& path) {
  auto ck = snapshot();  // collective; only the writer touches the file
  if (ps_.is_writer()) ck.save(path);
  ps_.world().barrier();
}

std::map<std::string, double> Trainer::maybe_evaluate() {
  return evaluate_run(frozen_.model, *prompt_, tokenizer_, ps_, config_);
}

bool Trainer::run(bool resume, bool overwrite) {
  namespace fs = std::filesystem;
  const auto& t = config_.train;
  // The writer owns run.dir for the whole run: a second run on it is refused, and a fresh run
  // never overwrites an earlier one's files unless asked to.
  std::unique_ptr<RunDirLock> lock;
  if (ps_.is_writer()) {
    std::error_code ec;
    fs::create_directories(config_.run.dir, ec);
    PTUNER_CHECK(!ec, "cannot create run.dir {}: {}", config_.run.dir, ec.message());
    lock = std::make_unique<RunDirLock>(config_.run.dir);
    if (!resume) fresh_run_check(config_.run.dir, overwrite);
  }
  ps_.world().barrier();
  PTUNER_CHECK(resume || prompt_initialised_, "prompt.init_file {} does not exist (a fresh run needs its source)",
               config_.prompt.init_file);
  if (resume) {
    require_last_checkpoint(last_checkpoint_path(), best_checkpoint_path());
    auto ck = Checkpoint::load(last_checkpoint_path());
    // A changed key that gives the saved state its meaning is refused; the others are logged.
    check_no_refused(refused_changes(ck, config_, ps_.is_writer()), last_checkpoint_path());
    restore(ck, last_checkpoint_path());
    spdlog::info("resumed from {} at step {}", last_checkpoint_path(), step_);
  }
  std::unique_ptr<MetricsLog> log;
  if (ps_.is_writer()) log = std::make_unique<MetricsLog>(metrics_path(), resume ? step_ : 0);
  int64_t values = 0;
  for (const auto& [name, shape] : prompt_->global_shapes())
    values += std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<int64_t>());
  spdlog::info("training {} prompt ({} trainable values, {}) on {}, layout {}, {} steps of {} examples",
               prompt_->method(), values, prompt_->hyper_parameters().dump(), frozen_.source, ps_.layout().str(),
               t.steps, t.batch_size);
  const auto start = Clock::now();
  const int64_t first = step_;
  int64_t tokens_since = 0;
  double loss_sum = 0;
  int64_t loss_count = 0;
  auto window = Clock::now();
  auto last_save = Clock::now();
  while (step_ < t.steps) {
    auto r = step();
    tokens_since += r.tokens;
    if (!r.skipped) loss_sum += r.loss, ++loss_count;
    if (step_ % t.log_every == 0 || step_ == t.steps) {
      const double dt = std::chrono::duration<double>(Clock::now() - window).count();
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      const double tps = tokens_since / std::max(dt, 1e-9);
      const double eta = elapsed / static_cast<double>(step_ - first) * static_cast<double>(t.steps - step_);
      const double lr = schedule_.at(step_ - 1);
      const double mean_loss = loss_count > 0 ? loss_sum / loss_count : std::nan("");
      // On GPUs, the largest rank's peak of tensor memory since the start (evaluation included),
      // to set beside `ptuner plan`'s estimate; every rank takes part (all on CUDA, or none).
      double peak_gib = -1;
      if (ps_.device().is_cuda())
        peak_gib = ps_.world().all_reduce_scalar(
                       static_cast<double>(dist::device_peak_allocated_bytes(ps_.device())), dist::ReduceOp::Max) /
                   (1024.0 * 1024 * 1024);
      spdlog::info("step {}/{} | loss {:.4f} | lr {:.3g} | {:.0f} tokens/s{} | ETA {}", step_, t.steps, mean_loss, lr,
                   tps, peak_gib >= 0 ? fmt::format(" | peak {:.1f} GiB", peak_gib) : "", hms(eta));
      if (log) {
        nlohmann::json rec = {{"step", step_},
                              {"loss", loss_count > 0 ? nlohmann::json(mean_loss) : nlohmann::json(nullptr)},
                              {"last_loss", std::isfinite(r.loss) ? nlohmann::json(r.loss) : nlohmann::json(nullptr)},
                              {"total_loss",
                               std::isfinite(r.total_loss) ? nlohmann::json(r.total_loss) : nlohmann::json(nullptr)},
                              {"lr", lr},
                              {"tokens_per_s", tps},
                              {"target_tokens", r.target_tokens},
                              {"skipped_records", loader().skipped()},
                              {"nonfinite_steps", nonfinite_steps_},
                              {"elapsed_s", elapsed}};
        if (peak_gib >= 0) rec["device_peak_allocated_gib"] = peak_gib;
        log->write(rec);
      }
      tokens_since = 0, loss_sum = 0, loss_count = 0;
      window = Clock::now();
    }
    if (t.eval_every > 0 && step_ % t.eval_every == 0) {
      auto m = maybe_evaluate();
      if (!m.empty()) {
        const std::string metric = select_metric(m, t.best_metric);
        const double value = m.at(metric);
        // The further dev sets' first official metrics after the one that keeps checkpoint-best.
        std::string more;
        for (size_t i = 0; i < config_.data.eval_set.size(); ++i) {
          const auto e = config_.data.eval_set_entry(i);
          const auto name = dev_set_metric(e.name, data::task_spec(e.task).metrics.at(0));
          if (name != metric) more += fmt::format("; {} = {:.4f}", name, m.at(name));
        }
        // The examples behind the metric: its own set's where train.best_metric names a set's.
        const auto slash = metric.find('/');
        const auto counted = slash == std::string::npos ? std::string("examples") : metric.substr(0, slash) + "/examples";
        spdlog::info("eval at step {}: {} = {:.4f} over {} examples{}", step_, metric, value,
                     m.count(counted) ? m.at(counted) : 0.0, more);
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
    // A stop signal on any rank, or (the writer's clock) train.save_every_minutes since the last
    // save: every rank agrees at this step boundary.
    const bool stop = ps_.world().all_reduce_scalar(stop_signal::pending() ? 1.0 : 0.0, dist::ReduceOp::Max) > 0;
    const bool due_by_time =
        t.save_every_minutes > 0 &&
        ps_.world().all_reduce_scalar(
            ps_.is_writer() && std::chrono::duration<double>(Clock::now() - last_save).count() >=
                                   60.0 * t.save_every_minutes
                ? 1.0
                : 0.0,
            dist::ReduceOp::Max) > 0;
    if (stop && step_ < t.steps) {
      save(last_checkpoint_path());
      if (ps_.is_writer())
        spdlog::warn("stopped by a signal (SIGTERM, SIGINT or SIGUSR1) at step {}/{}: {} written; continue with "
                     "--resume",
                     step_, t.steps, last_checkpoint_path());
      return false;
    }
    if ((t.save_every > 0 && step_ % t.save_every == 0) || due_by_time) {
      save(last_checkpoint_path());
      last_save = Clock::now();
    }
  }
  save(last_checkpoint_path());
  spdlog::info("done: prompt checkpoint {}{}, metrics {}", last_checkpoint_path(),
               best_step_ >= 0 ? fmt::format(", best ({} {:.4f} at step {}) {}", best_metric_name_, best_metric_,
                                             best_step_, best_checkpoint_path())
                               : "",
               metrics_path());
  return true;
}

}  // namespace ptuner::train
