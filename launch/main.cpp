// ptuner: prompt tuning of a frozen T5 over tensor, pipeline and data parallelism.
#include <ATen/Context.h>
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>
#include <map>

#include "dist/Check.h"
#include "dist/Logging.h"
#include "dist/MpiEnvironment.h"
#include "launch/Commands.h"

int main(int argc, char** argv) {
  using namespace ptuner;
  CLI::App app{"ptuner: prompt-tune a frozen T5 (HF checkpoints) with tensor, pipeline and data parallelism.\n"
               "Launch multi-rank jobs with mpirun or srun; see README.md."};
  app.require_subcommand(1);
  std::map<CLI::App*, launch::Command> commands;
  auto add = [&](const char* name, const char* help, launch::Command (*registrar)(CLI::App&)) {
    auto* sub = app.add_subcommand(name, help);
    commands[sub] = registrar(*sub);
  };
  add("init-model", "Write a randomly initialised HF-format T5 (config.json, model.safetensors, spiece.model)",
      launch::add_init_model);
  add("train", "Prompt-tune the frozen model described by a TOML config (exit 75: stopped by a signal, resumable)",
      launch::add_train);
  add("eval", "Evaluate a trained prompt checkpoint (or an ensemble of several) on the config's dev file; prints "
              "metrics as JSON",
      launch::add_eval);
  add("predict", "Greedy predictions for JSONL rows of several tasks, each row with its task's prompt",
      launch::add_predict);
  add("tokenize", "Show the ids (with the appended EOS) and pieces of texts", launch::add_tokenize);
  add("plan", "Per-rank blocks, parameters and memory of a layout, without loading weights", launch::add_plan);
  add("bench", "Time training steps of a config: tokens/s, pipeline bubble, communication, memory, FLOP rate (JSON)",
      launch::add_bench);
  add("data", "Inspect data files as training reads them (`ptuner data stats`, `ptuner data bench`)",
      launch::add_data_stats);
  add("prompt", "Trained prompts: export (plain or PEFT) and import, SPoT similarity and retrieval, nearest tokens",
      launch::add_prompt);
  add("report", "A markdown table and a plot (PNG, SVG) of one or more runs' loss and dev metrics",
      launch::add_report);
  add("config", "The run-config keys: type, default, check, meaning (`ptuner config keys [--markdown]`)",
      launch::add_config);
  CLI11_PARSE(app, argc, argv);

  // Peaked softmaxes (a random or a well-trained LM head) leave denormal floats in the logits'
  // gradient, and x86 matmuls on denormals run up to 50× slower (measured: one LM-head backward
  // 9.2 s instead of 0.13 s). Flushing them to zero, as torch.set_flush_denormal(True) does,
  // changes values below 1.2e-38 only.
  at::globalContext().setFlushDenormal(true);
  // Activations are freed and allocated again every micro-batch: keep them in the heap instead
  // of mmap/munmap and trimming, which page-faults every step afresh (t5.1.1-base step on CPU:
  // 2.98 s -> 2.78 s, kernel time 7.3 s -> 5.8 s).
  // A file-size limit (ulimit -f) makes a write fail with EFBIG, reported with the file's name,
  // instead of killing the process with SIGXFSZ.
  std::signal(SIGXFSZ, SIG_IGN);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  dist::MpiEnvironment mpi(&argc, &argv);
  dist::init_logging("rank " + std::to_string(0), 0);
  try {
    for (auto* sub : app.get_subcommands())
      if (commands.count(sub)) return commands[sub]();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    std::cerr.flush();
    dist::MpiEnvironment::abort(1);
    return 1;
  }
  return 0;
}
