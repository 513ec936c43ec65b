#include "launch/Benchmark.h"

#include <malloc.h>
#include <time.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <numeric>

#include <torch/csrc/autograd/profiler_legacy.h>

#include <memory>

#include "dist/Check.h"
#include "dist/DeviceClock.h"
#include "dist/ProcessMemory.h"
#include "model_parallel/ModelFlops.h"
#include "launch/PipelineReplay.h"
#include "model_parallel/PipelineObserver.h"
#include "train/Evaluator.h"
#include "train/Trainer.h"

namespace ptuner::launch {

using train::RunConfig;
using train::Trainer;

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kMiB = 1024.0 * 1024.0;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double mean(const std::vector<double>& v) {
  return v.empty() ? 0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

// A DP rank's step share (or `rows` rows) of fixed shape: random ids in [2, vocab), each row
// ending in EOS (1); as long as training lets a text be (data.max_input_length less the method's
// encoder rows).
data::Batch synthetic_batch(const RunConfig& c, int64_t vocab, uint64_t seed, int64_t rows = 0) {
  const int64_t B = rows > 0 ? rows : c.train.batch_size / c.parallel.dp;
  const int64_t S = c.data.max_input_length - train::encoder_prefix_rows(c), T = c.data.max_target_length;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  data::Batch b;
  b.input_ids = torch::randint(2, vocab, {B, S}, gen, torch::kLong);
  b.input_ids.select(1, S - 1).fill_(1);
  b.attention_mask = torch::ones({B, S}, torch::kLong);
  b.labels = torch::randint(2, vocab, {B, T}, gen, torch::kLong);
  b.labels.select(1, T - 1).fill_(1);
  b.num_input_tokens = B * S;
  b.num_target_tokens = B * T;
  for (int64_t i = 0; i < B; ++i) b.indices.push_back(i);
  return b;
}

// Each group's communication statistics (seconds, calls, bytes). Pipeline sends and receives go
// over the world communicator, which inside a training step carries nothing else; the loss is
// shared over pp.
struct CommSnapshot {
  dist::CommStats tp, dp, pp, p2p;
  static CommSnapshot of(const dist::ParallelState& ps) {
    return {ps.tp().stats(), ps.dp().stats(), ps.pp().stats(), ps.world().stats()};
  }
  CommSnapshot& add_difference(const CommSnapshot& from, const CommSnapshot& to) {
    auto add = [](dist::CommStats& sum, const dist::CommStats& a, const dist::CommStats& b) {
      sum.seconds += b.seconds - a.seconds, sum.calls += b.calls - a.calls, sum.bytes += b.bytes - a.bytes;
    };
    add(tp, from.tp, to.tp), add(dp, from.dp, to.dp), add(pp, from.pp, to.pp), add(p2p, from.p2p, to.p2p);
    return *this;
  }
};

// Values of every rank of the world, rank-major.
std::vector<double> gather(const dist::ParallelState& ps, double v) {
  auto all = ps.world().all_gather(torch::tensor({v}, torch::kFloat64));
  return std::vector<double>(all.data_ptr<double>(), all.data_ptr<double>() + all.numel());
}

// Each pipeline stage's ops of one flush, gathered over this rank's pipeline group: [stage][op].
std::vector<std::vector<StageOp>> gather_flush(const dist::ParallelState& ps, const std::vector<StageOp>& mine) {
  const int64_t n = static_cast<int64_t>(mine.size());
  auto t = torch::empty({n, 4}, torch::kFloat64);
  for (int64_t i = 0; i < n; ++i) {
    t[i][0] = mine[i].kind == 'F' ? 0.0 : 1.0;
    t[i][1] = static_cast<double>(mine[i].micro);
    t[i][2] = mine[i].wall_s;
    t[i][3] = mine[i].cpu_s;
  }
  auto all = ps.pp().all_gather(t.unsqueeze(0));  // every stage runs each micro-batch F and B: same n
  std::vector<std::vector<StageOp>> stages(ps.pp_size());
  for (int s = 0; s < ps.pp_size(); ++s)
    for (int64_t i = 0; i < n; ++i) {
      auto row = all[s][i];
      stages[s].push_back({row[0].item<double>() == 0 ? 'F' : 'B', static_cast<int64_t>(row[1].item<double>()),
                           row[2].item<double>(), row[3].item<double>()});
    }
  return stages;
}

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// The bench's view of a step, from the trainer's pipeline events: each flush's forwards and
// backwards in execution order with their wall and compute times, each flush's wall time, and
// the seconds spent in point-to-point exchanges (waiting for neighbours included). The wall
// times are the device's (DeviceClock: CUDA events on a GPU, the host's clock on the CPU); an
// op's compute time is the process's CPU seconds on the CPU (ranks may share cores) and its
// device seconds on a GPU (the host only queues work there). Read after the step's work drained.
class StepTimer : public mp::PipelineObserver {
 public:
  explicit StepTimer(const c10::Device& device) : clock_(device) {}
  void begin(mp::PipelineEvent e, int64_t micro) override {
    (void)micro;
    if (e == mp::PipelineEvent::Flush) ops_.emplace_back();
    open_[static_cast<int>(e)] = {clock_.mark(), process_cpu_seconds()};
  }
  void end(mp::PipelineEvent e, int64_t micro) override {
    const auto& [from, cpu0] = open_[static_cast<int>(e)];
    const size_t to = clock_.mark();
    switch (e) {
      case mp::PipelineEvent::Flush: flush_marks_.push_back({from, to}); break;
      case mp::PipelineEvent::P2P: p2p_marks_.push_back({from, to}); break;
      default:
        ops_.back().push_back({e == mp::PipelineEvent::Forward ? 'F' : 'B', micro, from, to, process_cpu_seconds() - cpu0});
    }
  }
  // The step's times from its marks (its work done).
  void resolve() {
    flushes.clear();
    for (const auto& flush : ops_) {
      flushes.emplace_back();
      for (const auto& op : flush) {
        const double wall = clock_.seconds(op.from, op.to);
        flushes.back().push_back({op.kind, op.micro, wall, clock_.on_device() ? wall : op.cpu_s});
      }
    }
    flush_seconds.clear();
    for (const auto& [from, to] : flush_marks_) flush_seconds.push_back(clock_.seconds(from, to));
    p2p_seconds = 0;
    for (const auto& [from, to] : p2p_marks_) p2p_seconds += clock_.seconds(from, to);
  }
  void clear() {
    ops_.clear(), flush_marks_.clear(), p2p_marks_.clear(), clock_.clear();
    flushes.clear(), flush_seconds.clear(), p2p_seconds = 0;
  }
  const char* compute_clock() const { return clock_.on_device() ? "device (CUDA events)" : "process CPU time"; }
  std::vector<std::vector<StageOp>> flushes;
  std::vector<double> flush_seconds;
  double p2p_seconds = 0;

 private:
  struct Op {
    char kind;
    int64_t micro;
    size_t from, to;
    double cpu_s;
  };
  dist::DeviceClock clock_;
  std::vector<std::vector<Op>> ops_;
  std::vector<std::pair<size_t, size_t>> flush_marks_, p2p_marks_;
  std::pair<size_t, double> open_[4];
};

struct Largest {
  int64_t batch = 0, enc = 0, dec = 0;
};

nlohmann::json run_phase(Trainer& t, const RunConfig& c, const dist::ParallelState& ps, const BenchOptions& o,
                         bool full, Largest& largest) {
  StepTimer timer(ps.device());
  t.set_observer(&timer);
  auto params = t.frozen().model->parameters();
  for (auto& p : params) p.requires_grad_(full);
  const int64_t vocab = t.frozen().config.vocab_size;
  std::vector<double> step_s, replayed, stage_busy_frac;
  CommSnapshot comm;  // inside the timed steps only: not the bench's own barriers and gathers
  double tokens = 0, examples = 0, step_flops = 0, p2p_wait = 0, forward_cpu = 0, backward_cpu = 0;
  int64_t rss_before = 0;
  bool peak_reset = false;
  for (int64_t i = 0; i < o.warmup + o.steps; ++i) {
    const bool timed = i >= o.warmup;
    if (i == o.warmup) {
      malloc_trim(0);  // freed warm-up memory back to the system: the peak below is the steps' own
      rss_before = dist::current_rss_bytes();
      peak_reset = dist::reset_peak_rss();
      dist::reset_device_peak(ps.device());
    }
    // The step's batch first (not timed): synthetic, or this DP rank's share from data.train.
    const auto batch = o.synthetic ? synthetic_batch(c, vocab, c.train.seed + static_cast<uint64_t>(i)) : t.next_batch();
    timer.clear();
    ps.world().barrier();
    const auto start = Clock::now();
    std::unique_ptr<torch::autograd::profiler::RecordProfile> trace;
    if (!o.trace.empty() && i == o.warmup && !full)
      trace = std::make_unique<torch::autograd::profiler::RecordProfile>(o.trace + "." +
                                                                         std::to_string(ps.world_rank()));
    const auto comm0 = CommSnapshot::of(ps);
    const auto r = t.step(batch);
    trace.reset();  // written on leaving the step
    dist::synchronize_device(ps.device());  // the step's GPU work is inside its time
    const auto comm1 = CommSnapshot::of(ps);  // (NCCL's device times count once finished)
    timer.resolve();
    ps.world().barrier();
    const double wall = seconds_since(start);
    if (full)
      for (auto& p : params) p.mutable_grad().reset();  // no optimizer: the gradients are dropped
    if (!timed) continue;
    step_s.push_back(wall);
    comm.add_difference(comm0, comm1);
    tokens += static_cast<double>(r.tokens);
    examples += static_cast<double>(c.train.batch_size);
    p2p_wait += timer.p2p_seconds;
    double local_flops = 0;
    for (const auto& mb : train::split_micro_batches(batch, c.train.grad_accum * c.pipeline.micro_batches)) {
      // Encoder positions count the prompt's rows.
      const int64_t B = mb.input_ids.size(0), S = t.prompt().prefix_length() + mb.input_ids.size(1),
                    T = mb.labels.size(1);
      // Frozen: each weight product once more for its input gradient; the attention products
      // (both operands activations) twice. Full: every product twice more.
      local_flops += full ? 3 * mp::forward_flops(t.frozen().config, B, S, T)
                          : 2 * mp::forward_flops(t.frozen().config, B, S, T) +
                                mp::attention_flops(t.frozen().config, B, S, T);
      largest.batch = std::max(largest.batch, B), largest.enc = std::max(largest.enc, S),
      largest.dec = std::max(largest.dec, T);
    }
    step_flops += ps.dp().all_reduce_scalar(local_flops, dist::ReduceOp::Sum);
    // Per flush: this stage's forwards and backwards against the pipeline's longest flush (all
    // stages enter a flush together): what is left is waiting on neighbours.
    const auto& flushes = timer.flushes;
    for (size_t f = 0; f < flushes.size(); ++f) {
      double busy = 0;
      for (const auto& op : flushes[f]) {
        busy += op.wall_s;
        (op.kind == 'F' ? forward_cpu : backward_cpu) += op.cpu_s;
      }
      const double span = ps.pp().all_reduce_scalar(timer.flush_seconds.at(f), dist::ReduceOp::Max);
      stage_busy_frac.push_back(busy / span);
      if (ps.pp_size() > 1) replayed.push_back(replay_pipeline(gather_flush(ps, flushes[f])).bubble());
    }
  }
  for (auto& p : params) p.requires_grad_(false);
  t.set_observer(nullptr);
  const double total_s = std::accumulate(step_s.begin(), step_s.end(), 0.0);
  const double n = static_cast<double>(step_s.size());
  const int64_t peak = dist::peak_rss_bytes();
  const int64_t device_peak = dist::device_peak_allocated_bytes(ps.device());

  nlohmann::json j;
  j["steps"] = o.steps;
  j["step_time_s"] = {{"mean", total_s / n}, {"median", median(step_s)}, {"min", *std::min_element(step_s.begin(), step_s.end())}};
  j["tokens_per_s"] = tokens / total_s;
  j["examples_per_s"] = examples / total_s;
  // Bubble: each stage's idle share, averaged over the ranks of the stage, then over stages.
  const auto busy_all = gather(ps, mean(stage_busy_frac));
  std::vector<double> stage_bubble(ps.pp_size(), 0.0);
  for (int r = 0; r < ps.world_size(); ++r)
    stage_bubble[dist::Coordinates::of(ps.layout(), r).pp_idx] += (1.0 - busy_all[r]) / (ps.tp_size() * ps.dp_size());
  j["bubble"] = {{"measured", mean(stage_bubble)},
                 {"measured_per_stage", stage_bubble},
                 {"replayed", ps.pp_size() > 1 ? mean(gather(ps, mean(replayed))) : 0.0},
                 {"ideal", ideal_bubble(ps.pp_size(), c.pipeline.micro_batches)},
                 {"micro_batches", c.pipeline.micro_batches}};
  auto per_step = [&](double v) { return mean(gather(ps, v / n)); };
  const double comm_tp = per_step(comm.tp.seconds), comm_dp = per_step(comm.dp.seconds),
               comm_pp = per_step(comm.pp.seconds), comm_p2p = per_step(comm.p2p.seconds);
  j["comm_s_per_step"] = {{"tp", comm_tp}, {"dp", comm_dp}, {"pp_collectives", comm_pp}, {"p2p", comm_p2p},
                          {"fraction_of_step", (comm_tp + comm_dp + comm_pp + comm_p2p) / (total_s / n)}};
  // What each rank sent or contributed per step, averaged over the ranks: the calls and their
  // payload bytes (an all-reduce counts its tensor once).
  auto counts = [&](int64_t dist::CommStats::*field) {
    return nlohmann::json{{"tp", per_step(static_cast<double>(comm.tp.*field))},
                          {"dp", per_step(static_cast<double>(comm.dp.*field))},
                          {"pp_collectives", per_step(static_cast<double>(comm.pp.*field))},
                          {"p2p", per_step(static_cast<double>(comm.p2p.*field))}};
  };
  j["comm_calls_per_step"] = counts(&dist::CommStats::calls);
  j["comm_bytes_per_step"] = counts(&dist::CommStats::bytes);
  j["p2p_wait_s_per_step"] = mean(gather(ps, p2p_wait / n));
  // The last stage's loss reaches the others by a pp all-reduce, which waits for the flush to
  // drain: pp_collectives holds that wait too (bubble, not transfer).
  // Compute per step of each rank (CPU seconds of its forwards and of its backwards).
  const auto fwd = gather(ps, forward_cpu / n), bwd = gather(ps, backward_cpu / n);
  j["forward_cpu_s_per_rank"] = fwd;
  j["backward_cpu_s_per_rank"] = bwd;
  j["compute_clock"] = timer.compute_clock();
  // The slowest stage's compute over the mean stage's: what the stage split leaves unbalanced
  // (1 = balanced); the replayed bubble exceeds the ideal by about this much.
  std::vector<double> stage_compute(ps.pp_size(), 0.0);
  for (int r = 0; r < ps.world_size(); ++r)
    stage_compute[dist::Coordinates::of(ps.layout(), r).pp_idx] += (fwd[r] + bwd[r]) / (ps.tp_size() * ps.dp_size());
  const double slowest = *std::max_element(stage_compute.begin(), stage_compute.end());
  j["stage_imbalance"] = slowest / mean(stage_compute);
  // What a perfect schedule leaves with these stage times: per micro-batch t_s, a flush takes
  // Σ t_s (fill and drain) + (m − 1)·max t_s, of which stage s computes m·t_s.
  const double m = static_cast<double>(c.pipeline.micro_batches);
  const double per_micro = m * static_cast<double>(c.train.grad_accum);
  const double flush = (std::accumulate(stage_compute.begin(), stage_compute.end(), 0.0) + (m - 1) * slowest) / per_micro;
  j["bubble"]["ideal_for_stage_times"] = ps.pp_size() > 1 ? 1.0 - m * mean(stage_compute) / per_micro / flush : 0.0;
  std::vector<double> peaks, step_peaks;
  for (double v : gather(ps, static_cast<double>(peak))) peaks.push_back(v / kMiB);
  for (double v : gather(ps, static_cast<double>(peak - rss_before))) step_peaks.push_back(v / kMiB);
  j["peak_rss_mib_per_rank"] = peaks;
  if (ps.world().all_reduce_scalar(peak_reset ? 0.0 : 1.0, dist::ReduceOp::Max) == 0.0) {
    j["step_peak_above_start_mib_per_rank"] = step_peaks;
  } else {
    spdlog::warn("bench: cannot reset the peak RSS (/proc/self/clear_refs): no per-step peak");
    j["step_peak_above_start_mib_per_rank"] = nullptr;
  }
  if (device_peak >= 0) {
    std::vector<double> device_peaks;
    for (double v : gather(ps, static_cast<double>(device_peak))) device_peaks.push_back(v / kMiB);
    j["device_peak_allocated_mib_per_rank"] = device_peaks;
  }
  const double model_flops = step_flops / total_s;
  j["model_flops_per_s"] = model_flops;
  j["model_flops_per_s_per_rank"] = model_flops / ps.world_size();
  j["flop_accounting"] = full ? "3 x forward matmul FLOPs (weight gradients too)"
                              : "2 x forward matmul FLOPs + attention products once more (input gradients only)";
  if (o.peak_flops > 0) j["mfu"] = model_flops / ps.world_size() / o.peak_flops;
  return j;
}

nlohmann::json gemm_rate(const RunConfig& c, const mp::T5Config& model, const dist::ParallelState& ps,
                         const Largest& l, int64_t repeats, torch::ScalarType dtype) {
  const auto shape = mp::largest_matmul(model, ps.tp_size(), l.batch, l.enc, l.dec);
  const auto on = torch::TensorOptions().dtype(dtype).device(ps.device());
  auto x = torch::randn({shape.m, shape.k}).to(on), w = torch::randn({shape.n, shape.k}).to(on);
  torch::NoGradGuard no_grad;
  for (int i = 0; i < 2; ++i) torch::matmul(x, w.t());
  dist::synchronize_device(ps.device());
  ps.world().barrier();
  const auto start = Clock::now();
  for (int64_t i = 0; i < repeats; ++i) torch::matmul(x, w.t());
  dist::synchronize_device(ps.device());
  const double rate = shape.flops() * static_cast<double>(repeats) / seconds_since(start);
  (void)c;
  return {{"m", shape.m}, {"k", shape.k}, {"n", shape.n}, {"flops_per_s", mean(gather(ps, rate))},
          {"flops_per_s_per_rank", gather(ps, rate)}};
}

// Greedy decoding of one synthetic batch per call, `o.warmup` untimed calls and `o.steps` timed
// ones (each between world barriers, after the device's queue drained), with and without the
// decoder's cache.
nlohmann::json decode_rate(Trainer& t, const RunConfig& c, const dist::ParallelState& ps, const BenchOptions& o) {
  const int64_t B = c.eval_batch_size(), N = o.decode_tokens;
  const auto batch = synthetic_batch(c, t.frozen().config.vocab_size, 1234 + static_cast<uint64_t>(ps.dp_rank()), B);
  const auto& ids = batch.input_ids;
  const auto& mask = batch.attention_mask;
  mp::PipelineStage stage(t.frozen().model);
  const train::EvalMode eval_mode(t.frozen().model, t.prompt());  // as evaluation decodes
  nlohmann::json j;
  j["tokens_per_row"] = N;
  j["rows_per_dp_rank"] = B;
  j["input_length"] = ids.size(1) + train::encoder_prefix_rows(c);
  torch::Tensor tokens[2];  // cached, recomputed
  for (const bool cache : {true, false}) {
    train::DecodeOptions d;
    d.cache = cache;
    d.stop_at_eos = false;
    std::vector<double> times;
    torch::Tensor out;
    for (int64_t i = 0; i < o.warmup + o.steps; ++i) {
      dist::synchronize_device(ps.device());
      ps.world().barrier();
      const auto start = Clock::now();
      out = train::greedy_decode(stage, t.prompt(), ps, ids, mask, N, {}, d);
      dist::synchronize_device(ps.device());
      ps.world().barrier();
      if (i >= o.warmup) times.push_back(seconds_since(start));
    }
    const double per_batch = mean(times);
    const auto generated = static_cast<double>(B * N * ps.dp_size());
    j[cache ? "cached" : "recomputed"] = {{"batch_time_s", {{"mean", per_batch}, {"median", median(times)}}},
                                          {"generated_tokens_per_s", generated / per_batch},
                                          {"ms_per_step", 1e3 * per_batch / static_cast<double>(N)}};
    tokens[cache ? 0 : 1] = out;
  }
  // Every replica's two decodings alike (each decodes rows of its own).
  const bool differ = !torch::equal(tokens[0], tokens[1]);
  j["same_tokens"] = ps.world().all_reduce_scalar(differ ? 1.0 : 0.0, dist::ReduceOp::Max) == 0.0;
  j["cached_over_recomputed_tokens_per_s"] =
      j["cached"]["generated_tokens_per_s"].get<double>() / j["recomputed"]["generated_tokens_per_s"].get<double>();
  return j;
}

}  // namespace

nlohmann::json run_benchmark(const RunConfig& c, const dist::ParallelState& ps, const BenchOptions& o) {
  PTUNER_CHECK(o.steps >= 1 && o.warmup >= 0, "bench: --steps must be >= 1 and --warmup >= 0 (got {} and {})",
               o.steps, o.warmup);
  // Batches made on the step's own thread: a loader thread would charge its CPU time to
  // whichever forward or backward is running (per-op CPU times, replay, imbalance).
  RunConfig rc = c;
  rc.data.prefetch = 0;
  rc.data.tokenizer_threads = 1;
  Trainer t(rc, ps);
  Largest largest;
  nlohmann::json j;
  j["config"] = c.source;
  j["model"] = t.frozen().source;
  j["parameters"] = t.frozen().config.num_parameters();
  j["layout"] = {{"tp", ps.tp_size()}, {"pp", ps.pp_size()}, {"dp", ps.dp_size()}};
  j["schedule"] = c.pipeline.schedule;
  j["micro_batches"] = c.pipeline.micro_batches;
  j["batch_size"] = c.train.batch_size;
  j["data"] = o.synthetic ? "synthetic"
              : c.data.mixture.empty() ? c.data.train
                                       : fmt::format("mixture of {} tasks", c.data.mixture.size());
  j["threads_per_rank"] = torch::get_num_threads();
  j["device"] = ps.device().str();
  j["dtype"] = c.model.dtype;
  j["recompute"] = c.train.recompute;
  spdlog::info("bench: {} warm-up and {} timed steps, frozen weights", o.warmup, o.steps);
  j["frozen"] = run_phase(t, c, ps, o, /*full=*/false, largest);
  if (o.full_finetune_baseline) {
    spdlog::info("bench: {} warm-up and {} timed steps, every weight trainable", o.warmup, o.steps);
    j["full_finetune"] = run_phase(t, c, ps, o, /*full=*/true, largest);
    j["frozen_over_full_step_time"] =
        j["frozen"]["step_time_s"]["mean"].get<double>() / j["full_finetune"]["step_time_s"]["mean"].get<double>();
  }
  if (o.decode_tokens > 0) {
    spdlog::info("bench: greedy decoding of {} tokens per row, with and without the decoder's cache", o.decode_tokens);
    j["decode"] = decode_rate(t, c, ps, o);
  }
  j["gemm"] = gemm_rate(c, t.frozen().config, ps, largest, o.gemm_repeats, t.frozen().model->dtype());
  j["model_flop_rate_over_gemm_rate"] =
      j["frozen"]["model_flops_per_s_per_rank"].get<double>() / j["gemm"]["flops_per_s"].get<double>();
  return j;
}

}  // namespace ptuner::launch
