// ptuner eval CONFIG.toml --prompt CHECKPOINT.h5 [--prompt …] [--predictions FILE]: metrics as JSON
// on stdout. One prompt: that checkpoint's method as the config describes it. Several: a prompt
// ensemble (Lester et al.'s "Prompt Ensembling") evaluated in one pass, each batch run once per
// prompt in one encoder batch; each prompt's metrics and the ensemble's (majority vote of greedy predictions, ties to
// the earliest prompt given; or, for data.eval_method = "rank", the label of least summed
// cross-entropy). Ensembles take shallow or residual prompts of one length. The metrics are those
// train logs: data.dev's (or a mixture's dev files', with their average) and each
// [[data.eval_set]]'s as "<name>/<metric>". --submission writes data.dev's predictions (a test
// split's) as the GLUE / SuperGLUE leaderboard file of its task (data/Submission.h).
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "data/Submission.h"
#include "data/Tokenizer.h"
#include "dist/Check.h"
#include "dist/JsonText.h"
#include "dist/MpiCommunicator.h"
#include "launch/Commands.h"
#include "launch/RunSetup.h"
#include "train/Checkpoint.h"
#include "train/Evaluator.h"
#include "train/FrozenModel.h"
#include "train/PromptTable.h"
#include "train/Trainer.h"

namespace ptuner::launch {

namespace {
struct EvalArgs {
  RunArgs run;
  std::vector<std::string> prompts;
  std::string predictions;
  std::string submission;
};

void write_predictions(const std::string& path, const std::vector<std::string>& predictions) {
  std::ofstream out(path);
  PTUNER_CHECK(out.good(), "cannot write {}", path);
  for (const auto& p : predictions) out << p << '\n';
}

// data.dev's predictions as its task's leaderboard file: `path` itself, or the leaderboard's
// name for it inside `path` where that is a directory (or ends in '/').
void write_submission(const std::string& path, const train::EvalOptions& dev,
                      const std::vector<std::string>& predictions) {
  const auto s = data::leaderboard_submission(dev.task, dev.path, train::read_dev_examples(dev), predictions);
  const bool into_dir = std::filesystem::is_directory(path) || (!path.empty() && path.back() == '/');
  if (into_dir) std::filesystem::create_directories(path);
  const std::string file = into_dir ? (std::filesystem::path(path) / s.file_name).string() : path;
  {
    std::ofstream out(file, std::ios::binary);
    out << s.text;
    out.flush();
    PTUNER_CHECK(out.good(), "cannot write {}", file);
  }
  if (s.not_a_label > 0)
    spdlog::warn("{}: {} of the {} predictions were no legal label of task '{}' and are written as '{}' (rank "
                 "classification, data.eval_method = \"rank\", gives none)",
                 file, s.not_a_label, predictions.size(), dev.task, s.written_instead);
  spdlog::info("leaderboard file {} ({} for {}): {} records", file, s.file_name, dev.path, s.records);
}
}  // namespace

Command add_eval(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  a->run.add_to(app);
  app.add_option("--prompt", a->prompts,
                 "prompt checkpoint (HDF5) written by ptuner train; repeat it to evaluate an ensemble")
      ->required();
  app.add_option("--predictions", a->predictions,
                 "write every dev example's prediction (an ensemble's: the ensemble's), one per line, in file order");
  app.add_option("--submission", a->submission,
                 "write data.dev's predictions (a test split's) as its task's GLUE / SuperGLUE leaderboard file: "
                 "this file, or the leaderboard's file name (BoolQ.jsonl, MNLI-mm.tsv, ...) in this directory");
  return [a]() {
    auto s = setup_run(a->run);
    const auto& c = s.config;
    // data.dev, or a mixture's dev files (each task's metrics and their average), and the
    // [[data.eval_set]] files, as train logs them.
    const auto sets = train::run_dev_sets(c);
    const bool mixture = c.data.dev.empty() && !sets.empty();
    PTUNER_CHECK(!c.data.dev.empty() || mixture, "{}: data.dev is not set; eval needs a dev file", c.source);
    PTUNER_CHECK(!mixture || (a->prompts.size() == 1 && a->predictions.empty() && a->submission.empty()),
                 "{}: a mixture's dev files are evaluated for one --prompt without --predictions or --submission (for "
                 "an ensemble or predictions of one task, --set data.mixture without its dev files and data.task, "
                 "data.dev)",
                 c.source);
    // Every dev file present before the model loads (a typo in a further set's path would otherwise
    // surface after the main set's evaluation, losing it).
    for (const auto& o : sets)
      PTUNER_CHECK(std::filesystem::exists(o.path), "{}: {} {} does not exist", c.source, o.key, o.path);
    PTUNER_CHECK(a->submission.empty() || data::has_leaderboard_file(c.data.task),
                 "{}: --submission writes a GLUE or SuperGLUE leaderboard file, and data.task '{}' has none", c.source,
                 c.data.task);
    train::check_prompt_method(c);  // before the model loads
    data::Tokenizer tokenizer(c.tokenizer_path());
    auto frozen = train::build_frozen_model(c, *s.ps);
    dist::MpiCommunicator::set_timeout(c.dist.timeout_s);  // the model is loaded: time every wait
    if (a->prompts.size() == 1) {
      const auto& path = a->prompts[0];
      auto ck = train::Checkpoint::load(path);
      ck.check_model(frozen.fingerprint, path);
      auto prompt = train::make_prompt(c, tokenizer, frozen, *s.ps, /*initialise=*/false);
      prompt->check_saved(ck.method, ck.prompt_config, path);
      prompt->load_parameters(ck.params, path);
      train::EvalResult result;
      result.metrics = train::evaluate_run(frozen.model, *prompt, tokenizer, *s.ps, c, &result.predictions);
      if (!a->predictions.empty() && s.ps->is_writer()) write_predictions(a->predictions, result.predictions);
      if (!a->submission.empty() && s.ps->is_writer())
        write_submission(a->submission, train::EvalOptions::from(c), result.predictions);
      if (s.ps->is_writer()) {
        nlohmann::json j = result.metrics;
        j["step"] = ck.step;
        j["checkpoint"] = path;
        std::cout << ptuner::json_text(j) << std::endl;
      }
      return 0;
    }
    // An ensemble: every prompt's shallow form in one table, text lengths net of its rows.
    auto table = train::load_prompt_table(a->prompts, frozen.fingerprint, frozen.stage.first, s.ps->device());
    auto o = train::EvalOptions::from(c);
    o.max_input_len = c.data.max_input_length - table->prefix_length();
    PTUNER_CHECK(o.max_input_len > 0, "{}: prompts of {} tokens leave no room within data.max_input_length {}",
                 c.source, table->prefix_length(), c.data.max_input_length);
    auto result = train::evaluate_prompts(frozen.model, *table, table->size(), tokenizer, *s.ps, o);
    // The [[data.eval_set]] files: each prompt's and the ensemble's metrics there, as "<name>/<metric>".
    for (auto e : sets) {
      if (e.name.empty()) continue;
      e.max_input_len = o.max_input_len;
      const auto more = train::evaluate_prompts(frozen.model, *table, table->size(), tokenizer, *s.ps, e);
      for (size_t i = 0; i < more.prompts.size(); ++i)
        for (const auto& [name, value] : more.prompts[i].metrics)
          result.prompts[i].metrics[train::dev_set_metric(e.name, name)] = value;
      for (const auto& [name, value] : more.ensemble.metrics)
        result.ensemble.metrics[train::dev_set_metric(e.name, name)] = value;
    }
    if (!a->predictions.empty() && s.ps->is_writer()) write_predictions(a->predictions, result.ensemble.predictions);
    if (!a->submission.empty() && s.ps->is_writer()) write_submission(a->submission, o, result.ensemble.predictions);
    if (s.ps->is_writer()) {
      nlohmann::json j;
      j["prompts"] = nlohmann::json::array();
      for (size_t i = 0; i < a->prompts.size(); ++i) {
        nlohmann::json m = result.prompts[i].metrics;
        m["checkpoint"] = a->prompts[i];
        j["prompts"].push_back(m);
      }
      j["ensemble"] = result.ensemble.metrics;
      j["ensemble"]["vote"] = o.rank_labels.empty() ? "majority (ties: the earliest prompt)" : "summed log-likelihood";
      std::cout << ptuner::json_text(j) << std::endl;
    }
    return 0;
  };
}

}  // namespace ptuner::launch
