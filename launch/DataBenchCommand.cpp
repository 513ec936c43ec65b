// ptuner data bench: the training DataLoader's throughput over a data file, as training reads
// it (length bucketing on unless --no-bucketing, shuffling, the given prefetch): one epoch (or
// --batches), timed from the first next() to the last. Prints examples/s, real tokens/s (input +
// target ids after truncation, padding not counted), batches/s, padding efficiency and wall time,
// and how long next() kept its caller waiting. --step-ms sleeps that long after each batch, as a
// training step would, to show how much of the loading prefetching hides.
//
// add_data_bench(app) registers `bench` under `app`, the `data` subcommand (next to `stats`).
#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>
#include <memory>
#include <thread>

#include "data/DataLoader.h"
#include "data/Task.h"
#include "data/TaskReader.h"
#include "data/Tokenizer.h"
#include "dist/Check.h"
#include "dist/JsonText.h"
#include "launch/Commands.h"

namespace ptuner::launch {

namespace {
struct DataBenchArgs {
  std::string task;
  std::string file;
  std::string tokenizer;
  int64_t batch_size = 32;
  int64_t max_input_length = 512;
  int64_t max_target_length = 128;
  int64_t shuffle_buffer = 10000;
  int64_t prefetch = 4;
  int tokenizer_threads = 1;
  int64_t batches = 0;
  double step_ms = 0;
  uint64_t seed = 0;
  bool no_bucketing = false;
  bool task_prefix = false;
  bool json = false;
};

using Clock = std::chrono::steady_clock;
double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

Command add_data_bench(CLI::App& app) {
  auto a = std::make_shared<DataBenchArgs>();
  auto* bench = app.add_subcommand(
      "bench", "Throughput of the training data loader over a data file (examples/s, tokens/s)");
  bench->add_option("--task", a->task, "task: " + data::known_task_names())->required();
  bench->add_option("--file", a->file, "the data file as the benchmark ships it (plain or gzip)")
      ->required();
  bench->add_option("--tokenizer", a->tokenizer, "sentencepiece model (spiece.model)")->required();
  bench->add_option("--batch-size", a->batch_size, "examples per batch")->capture_default_str();
  bench->add_option("--max-input-length", a->max_input_length, "input ids kept per example")
      ->capture_default_str();
  bench->add_option("--max-target-length", a->max_target_length, "target ids kept per example")
      ->capture_default_str();
  bench->add_option("--shuffle-buffer", a->shuffle_buffer, "shuffle buffer and bucketing window")
      ->capture_default_str();
  bench->add_option("--prefetch", a->prefetch,
                    "batches made ahead by the loader's thread (0: on the caller's thread)")
      ->capture_default_str();
  bench->add_option("--tokenizer-threads", a->tokenizer_threads,
                    "threads tokenizing a bucketing window")
      ->capture_default_str();
  bench->add_option("--batches", a->batches, "batches to time (0: one epoch)")->capture_default_str();
  bench->add_option("--step-ms", a->step_ms,
                    "sleep this long after each batch, as a training step would")
      ->capture_default_str();
  bench->add_option("--seed", a->seed, "shuffle seed")->capture_default_str();
  bench->add_flag("--no-bucketing", a->no_bucketing, "batch in stream order (training buckets)");
  bench->add_flag("--task-prefix", a->task_prefix, "keep T5's leading task name in the inputs");
  bench->add_flag("--json", a->json, "one JSON object instead of text");
  return [a]() {
    const data::Tokenizer tok(a->tokenizer);
    // Examples in one pass (not timed): one epoch's batches.
    int64_t examples = 0, skipped = 0;
    {
      auto reader = data::TaskReader::open(a->task, a->file, data::OnError::Skip, a->task_prefix,
                                           /*is_training=*/true);
      data::TextToTextExample ex;
      while (reader->next(ex)) ++examples;
      skipped = reader->skipped();
    }
    PTUNER_CHECK(a->batch_size >= 1, "--batch-size must be >= 1, got {}", a->batch_size);
    const int64_t batches = a->batches > 0 ? a->batches : examples / a->batch_size;
    PTUNER_CHECK(batches >= 1, "data file '{}' holds {} examples, fewer than one batch of {}",
                 a->file, examples, a->batch_size);

    data::LoaderOptions o;
    o.path = a->file;
    o.task = a->task;
    o.task_prefix = a->task_prefix;
    o.batch_size = a->batch_size;
    o.max_input_len = a->max_input_length;
    o.max_target_len = a->max_target_length;
    o.seed = a->seed;
    o.shuffle_buffer = a->shuffle_buffer;
    o.bucket_by_length = !a->no_bucketing;
    o.on_error = data::OnError::Skip;
    o.prefetch = a->prefetch;
    o.tokenizer_threads = a->tokenizer_threads;

    const auto t0 = Clock::now();
    data::DataLoader loader(o, tok);
    const auto t1 = Clock::now();
    Clock::duration waited{};
    int64_t tokens = 0, n = 0;
    for (int64_t b = 0; b < batches; ++b) {
      const auto before = Clock::now();
      const data::Batch batch = loader.next();
      waited += Clock::now() - before;
      tokens += batch.num_input_tokens + batch.num_target_tokens;
      n += batch.size();
      if (a->step_ms > 0)
        std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(a->step_ms));
    }
    const auto t2 = Clock::now();
    const double wall = seconds(t2 - t1);
    const auto& pad = loader.padding();
    nlohmann::json j = {{"task", a->task},
                        {"file", a->file},
                        {"examples_in_file", examples},
                        {"malformed_skipped", skipped},
                        {"batch_size", a->batch_size},
                        {"max_input_length", a->max_input_length},
                        {"max_target_length", a->max_target_length},
                        {"bucket_by_length", o.bucket_by_length},
                        {"shuffle_buffer", a->shuffle_buffer},
                        {"prefetch", a->prefetch},
                        {"tokenizer_threads", a->tokenizer_threads},
                        {"step_ms", a->step_ms},
                        {"batches", batches},
                        {"examples", n},
                        {"tokens", tokens},
                        {"setup_s", seconds(t1 - t0)},
                        {"wall_s", wall},
                        {"next_wait_s", seconds(waited)},
                        {"examples_per_s", n / wall},
                        {"tokens_per_s", tokens / wall},
                        {"batches_per_s", batches / wall},
                        {"padding_efficiency", pad.efficiency()},
                        {"input_padding_efficiency", pad.input_efficiency()},
                        {"target_padding_efficiency", pad.target_efficiency()}};
    if (a->json) {
      std::cout << ptuner::json_text(j) << '\n';
      return 0;
    }
    std::cout << fmt::format(
        "{} {}: {} examples ({} malformed records skipped)\n"
        "loader: batch {}, max input {}, max target {}, bucketing {}, shuffle buffer {}, prefetch {}, "
        "tokenizer threads {}{}\n"
        "{} batches, {} examples, {} tokens (input + target, no padding) in {:.3f} s (setup {:.3f} s)\n"
        "examples/s {:.0f}   tokens/s {:.0f}   batches/s {:.1f}\n"
        "padding efficiency {:.3f} (input {:.3f}, target {:.3f})\n"
        "next() kept the caller waiting {:.3f} s of {:.3f} s\n",
        a->task, a->file, examples, skipped, a->batch_size, a->max_input_length,
        a->max_target_length, o.bucket_by_length ? "on" : "off", a->shuffle_buffer, a->prefetch,
        a->tokenizer_threads,
        a->step_ms > 0 ? fmt::format(", simulated step {} ms", a->step_ms) : std::string(), batches,
        n, tokens, wall, seconds(t1 - t0), n / wall, tokens / wall, batches / wall, pad.efficiency(),
        pad.input_efficiency(), pad.target_efficiency(), seconds(waited), wall);
    return 0;
  };
}

}  // namespace ptuner::launch
