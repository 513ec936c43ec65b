#pragma once
// What a run directory says about its run, for `ptuner report`: read from metrics.jsonl (steps,
// losses, evaluations, throughput, wall time) and checkpoint-last.h5 (layout, prompt method,
// trainable parameters), never from the model.
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace ptuner::train {

struct RunSummary {
  std::string dir, name;     // name: the directory's last component
  std::vector<int64_t> steps;           // logged training steps
  std::vector<double> losses;           // their "loss" (mean over the log interval)
  // metric (without "eval_") -> the steps that evaluated it and its values there (a dev set
  // added or dropped on resume has fewer steps than the others)
  std::map<std::string, std::vector<int64_t>> eval_steps;
  std::map<std::string, std::vector<double>> eval;
  std::string metric;        // the metric the table reports: train.best_metric, or the task's first
  double final_metric = 0, best_metric = 0;
  int64_t best_step = -1;    // -1: no evaluation
  // Named dev sets' metrics ("<name>/<metric>": a mixture's tasks, [[data.eval_set]] files), each
  // at best_step, NaN where that evaluation did not have it.
  std::map<std::string, double> at_best;
  double final_loss = 0, tokens_per_s = 0, wall_s = 0;  // tokens/s: mean over logged steps
  int64_t trainable = 0;     // prompt values in checkpoint-last.h5 (0 without one)
  std::string layout, method;

  // Reads `dir`; throws naming the file when metrics.jsonl is missing or has no training step.
  static RunSummary read(const std::string& dir);
  nlohmann::json to_json() const;  // the plot script's input
};

// The markdown table: one row per run (final and best dev metric with its step, final loss,
// tokens/s, wall time, trainable parameters, layout); then, where runs have named dev sets, a
// second table of their metrics at each run's best step (how Lester et al. report their
// out-of-domain sets: at the checkpoint the in-domain dev chose).
std::string report_table(const std::vector<RunSummary>& runs);

}  // namespace ptuner::train
