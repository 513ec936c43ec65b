#pragma once
// `ptuner bench`: timed training steps of a run config at its layout, as JSON.
//
// A phase = `warmup` untimed steps, then `steps` timed ones, each between two world barriers
// (step time = the slowest rank's). Per phase:
//   tokens/s, examples/s, step time (mean, median);
//   bubble: measured per stage and flush as 1 − (its forward+backward wall time)/(the
//     pipeline's longest flush), i.e. the time it waits on its neighbours; replayed: the same
//     flushes rebuilt with every stage on a processor of its own from each op's CPU time
//     (PipelineReplay), which is what the measured bubble is on a machine that is not
//     oversubscribed, less the transfers; ideal: (p−1)/(m+p−1);
//   communication seconds per step on the TP, DP and pipeline (p2p) groups, inside the steps;
//   peak RSS per rank, and the peak above the RSS before the timed steps (activations); on a GPU
//     (a CUDA LibTorch) the caching allocator's peak of the timed steps per rank;
//   step times by the host clock after the device's queue has drained (synchronised);
//   model FLOP rate: 2 × forward matmul FLOPs + the attention products once more, of the step's
//     micro-batch shapes (ModelFlops: a frozen step's backward computes only input gradients),
//     per second, whole job and per rank; MFU against --peak-flops.
// Batches from data.train are made on the step's thread (data.prefetch = 0), so that per-op CPU
// times hold only the model's work. The timings come from a PipelineObserver attached to the
// trainer: training itself keeps no bench state.
// GEMM rate: the largest matmul one rank runs (ModelFlops::largest_matmul at the largest
// micro-batch shape seen), timed in the same process after the phases.
// full-finetune baseline: the same steps with every frozen weight requiring a gradient (weight
// gradients computed and dropped, no optimizer), and frozen step time / full step time.
// decode (--decode N): greedy decoding as evaluation runs it (train::greedy_decode through the
// layout, model and prompt in eval mode), of a batch of random ids (with or without --synthetic)
// of the evaluation's size (the micro-batch per DP rank) and input length, N tokens per row (no
// stop at EOS), with the decoder's key/value cache and without it (the whole prefix again at each
// token): batch time, generated tokens/s, ms per step (one token for every row), the ratio, and
// whether every replica's two decodings gave the same tokens.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "dist/ParallelState.h"
#include "train/RunConfig.h"

namespace ptuner::launch {

struct BenchOptions {
  int64_t steps = 10;
  int64_t warmup = 2;
  // Fixed-shape batches (B = train.batch_size / dp rows of max_input_length − prompt length
  // input tokens and max_target_length targets, random ids) instead of data.train.
  bool synthetic = false;
  bool full_finetune_baseline = false;
  int64_t gemm_repeats = 10;
  // When set, the first timed frozen step's operators go to TRACE.<world rank> (Chrome trace
  // JSON, LibTorch's profiler; the step is slower while traced).
  std::string trace;
  // The chip's dense peak FLOP/s for the model dtype (e.g. 989e12 for an H100/H200 in bf16):
  // when > 0, "mfu" = model FLOP/s per rank over it.
  double peak_flops = 0;
  // > 0: also time greedy decoding of this many tokens per row (cached and recomputed).
  int64_t decode_tokens = 0;
};

// Collective over the world; every rank returns the same JSON.
nlohmann::json run_benchmark(const train::RunConfig& config, const dist::ParallelState& ps, const BenchOptions& options);

}  // namespace ptuner::launch
