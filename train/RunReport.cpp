#include "train/RunReport.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <filesystem>

#include "dist/Check.h"
#include "train/Checkpoint.h"
#include "train/Evaluator.h"
#include "train/MetricsLog.h"
#include "train/RunConfig.h"

namespace ptuner::train {

namespace fs = std::filesystem;

namespace {
// eval_examples, or a mixture task's eval_<task>/examples: counts, not metrics.
bool report_counts_examples(const std::string& key) {
  const std::string tail = "/examples";
  return key == "eval_examples" ||
         (key.size() >= tail.size() && key.compare(key.size() - tail.size(), tail.size(), tail) == 0);
}
}  // namespace

RunSummary RunSummary::read(const std::string& dir) {
  RunSummary r;
  r.dir = dir;
  r.name = fs::path(dir).lexically_normal().filename().string();
  if (r.name.empty()) r.name = fs::path(dir).lexically_normal().parent_path().filename().string();
  const std::string path = dir + "/metrics.jsonl";
  PTUNER_CHECK(fs::exists(path), "report: {} does not exist (not a run directory?)", path);
  std::map<int64_t, nlohmann::json> train_lines, eval_lines;  // by step: a resumed run's later line wins
  for (auto& record : read_metrics_records(path)) {
    const int64_t step = record.json["step"].get<int64_t>();
    bool is_eval = false;
    for (const auto& [key, value] : record.json.items()) is_eval = is_eval || key.rfind("eval_", 0) == 0;
    (is_eval ? eval_lines : train_lines)[step] = std::move(record.json);
  }
  double tokens = 0;
  int64_t with_tokens = 0;
  for (const auto& [step, j] : train_lines) {
    if (!j.contains("loss") || !j["loss"].is_number()) continue;
    r.steps.push_back(step);
    r.losses.push_back(j["loss"].get<double>());
    if (j.contains("tokens_per_s") && j["tokens_per_s"].is_number()) {
      tokens += j["tokens_per_s"].get<double>();
      ++with_tokens;
    }
    if (j.contains("elapsed_s") && j["elapsed_s"].is_number()) r.wall_s = std::max(r.wall_s, j["elapsed_s"].get<double>());
  }
  PTUNER_CHECK(!r.steps.empty(), "report: {} holds no training step", path);
  r.final_loss = r.losses.back();
  r.tokens_per_s = with_tokens > 0 ? tokens / static_cast<double>(with_tokens) : 0;
  for (const auto& [step, j] : eval_lines) {
    for (const auto& [key, value] : j.items()) {
      if (key.rfind("eval_", 0) != 0 || report_counts_examples(key) || !value.is_number()) continue;
      r.eval_steps[key.substr(5)].push_back(step);
      r.eval[key.substr(5)].push_back(value.get<double>());
    }
  }
  // The checkpoint: its config (layout, the metric the run kept its best by) and prompt size.
  std::string wanted = "auto";
  const std::string last = dir + "/checkpoint-last.h5";
  if (fs::exists(last)) {
    const Checkpoint c = Checkpoint::load(last);
    for (const auto& [name, t] : c.params) r.trainable += t.numel();
    r.method = c.method;
    const RunConfig config = RunConfig::from_string(c.config_toml, last + ":/meta/config", {}, /*validate=*/false);
    r.layout = config.parallel.str();
    wanted = config.train.best_metric;
  }
  if (!r.eval.empty()) {
    if (wanted != "auto" && r.eval.count(wanted)) {
      r.metric = wanted;
    } else {
      for (const auto& m : auto_metric_order())
        if (r.metric.empty() && r.eval.count(m)) r.metric = m;
      // Else the first metric of the main dev set (no "/"), before a named set's.
      for (const auto& [name, values] : r.eval)
        if (r.metric.empty() && name.find('/') == std::string::npos) r.metric = name;
      if (r.metric.empty()) r.metric = r.eval.begin()->first;
    }
    const auto& values = r.eval.at(r.metric);
    const auto& at = r.eval_steps.at(r.metric);
    r.final_metric = values.back();
    for (size_t i = 0; i < values.size(); ++i)
      if (r.best_step < 0 || values[i] > r.best_metric) r.best_metric = values[i], r.best_step = at[i];
    const auto& best_line = eval_lines.at(r.best_step);
    for (const auto& [name, unused] : r.eval) {
      if (name.find('/') == std::string::npos || name == r.metric) continue;
      const auto it = best_line.find("eval_" + name);
      r.at_best[name] = it != best_line.end() && it->is_number() ? it->get<double>()
                                                                  : std::numeric_limits<double>::quiet_NaN();
    }
  }
  return r;
}

nlohmann::json RunSummary::to_json() const {
  return {{"name", name}, {"dir", dir},           {"steps", steps},   {"loss", losses},
          {"eval_steps", eval_steps}, {"eval", eval}, {"metric", metric}};
}

std::string report_table(const std::vector<RunSummary>& runs) {
  std::string out =
      "| run | metric | final | best (step) | final loss | tokens/s | wall time | trainable | method | layout |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : runs) {
    const bool evaluated = r.best_step >= 0;
    out += fmt::format("| {} | {} | {} | {} | {:.4f} | {:.0f} | {:.1f} s | {} | {} | {} |\n", r.name,
                       evaluated ? r.metric : "—", evaluated ? fmt::format("{:.4f}", r.final_metric) : "—",
                       evaluated ? fmt::format("{:.4f} ({})", r.best_metric, r.best_step) : "—", r.final_loss,
                       r.tokens_per_s, r.wall_s, r.trainable > 0 ? std::to_string(r.trainable) : "—",
                       r.method.empty() ? "—" : r.method, r.layout.empty() ? "—" : r.layout);
  }
  bool named = false;
  for (const auto& r : runs) named = named || !r.at_best.empty();
  if (!named) return out;
  out += "\nNamed dev sets (a mixture's tasks, `[[data.eval_set]]` files) at each run's best step:\n\n"
         "| run | best step (by) | metric | value |\n|---|---|---|---|\n";
  for (const auto& r : runs)
    for (const auto& [name, value] : r.at_best)
      out += fmt::format("| {} | {} ({}) | {} | {} |\n", r.name, r.best_step, r.metric, name,
                         std::isnan(value) ? "—" : fmt::format("{:.4f}", value));
  return out;
}

}  // namespace ptuner::train
