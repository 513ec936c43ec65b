// ptuner predict CONFIG.toml --prompt TASK=CHECKPOINT.h5 [--prompt …] --input IN.jsonl --output OUT.jsonl
// Greedy predictions for rows of several tasks in shared batches: each input line is a JSON object
// with "task" (one of the --prompt names) and "inputs" (the text, as the task's model input); each
// output line repeats the object with "prediction" added, in input order. Rows of different tasks
// share a batch, each with its own prompt (one length for all: shallow or residual prompts).
// Any layout: each DP replica predicts its share of the rows.
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <fstream>
#include <map>

#include "data/Tokenizer.h"
#include "dist/Check.h"
#include "dist/JsonText.h"
#include "dist/MpiCommunicator.h"
#include "launch/Commands.h"
#include "launch/RunSetup.h"
#include "train/Evaluator.h"
#include "train/FrozenModel.h"
#include "train/PromptTable.h"

namespace ptuner::launch {

namespace {
struct PredictArgs {
  RunArgs run;
  std::vector<std::string> prompts;
  std::string input, output;
};
}  // namespace

Command add_predict(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  a->run.add_to(app);
  app.add_option("--prompt", a->prompts, "TASK=CHECKPOINT.h5: the prompt of rows whose \"task\" is TASK (repeat)")
      ->required();
  app.add_option("--input", a->input, "JSONL: {\"task\": …, \"inputs\": …} per line")->required();
  app.add_option("--output", a->output, "JSONL: each input object with \"prediction\" added")->required();
  return [a]() {
    auto s = setup_run(a->run);
    const auto& c = s.config;
    std::map<std::string, int64_t> task_index;
    std::vector<std::string> paths;
    for (const auto& p : a->prompts) {
      const auto eq = p.find('=');
      PTUNER_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < p.size(),
                   "--prompt '{}': expected TASK=CHECKPOINT.h5", p);
      const auto task = p.substr(0, eq);
      PTUNER_CHECK(!task_index.count(task), "--prompt: task '{}' is given twice", task);
      task_index[task] = static_cast<int64_t>(paths.size());
      paths.push_back(p.substr(eq + 1));
    }
    std::vector<nlohmann::json> rows;
    std::vector<int64_t> prompt_of;
    std::vector<std::string> inputs;
    {
      std::ifstream in(a->input);
      PTUNER_CHECK(in.good(), "cannot open --input {}", a->input);
      std::string line;
      for (int64_t n = 1; std::getline(in, line); ++n) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        nlohmann::json row;
        try {
          row = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception& e) {
          PTUNER_FAIL("{}:{}: not JSON: {}", a->input, n, e.what());
        }
        PTUNER_CHECK(row.is_object() && row.contains("task") && row["task"].is_string() && row.contains("inputs") &&
                         row["inputs"].is_string(),
                     "{}:{}: a row needs string fields \"task\" and \"inputs\"", a->input, n);
        const auto task = row["task"].get<std::string>();
        PTUNER_CHECK(task_index.count(task), "{}:{}: task '{}' has no --prompt", a->input, n, task);
        prompt_of.push_back(task_index.at(task));
        inputs.push_back(row["inputs"].get<std::string>());
        rows.push_back(std::move(row));
      }
    }
    PTUNER_CHECK(!rows.empty(), "--input {} holds no rows", a->input);
    data::Tokenizer tokenizer(c.tokenizer_path());
    auto frozen = train::build_frozen_model(c, *s.ps);
    dist::MpiCommunicator::set_timeout(c.dist.timeout_s);  // the model is loaded: time every wait
    auto table = train::load_prompt_table(paths, frozen.fingerprint, frozen.stage.first, s.ps->device());
    const int64_t max_input = c.data.max_input_length - table->prefix_length();
    PTUNER_CHECK(max_input > 0, "{}: prompts of {} tokens leave no room within data.max_input_length {}", c.source,
                 table->prefix_length(), c.data.max_input_length);
    const auto predictions = train::predict(frozen.model, *table, prompt_of, inputs, tokenizer, *s.ps,
                                            c.eval_batch_size(), max_input, c.data.max_target_length);
    if (s.ps->is_writer()) {
      std::ofstream out(a->output);
      PTUNER_CHECK(out.good(), "cannot write --output {}", a->output);
      for (size_t i = 0; i < rows.size(); ++i) {
        rows[i]["prediction"] = predictions[i];
        out << ptuner::json_text(rows[i]) << '\n';
      }
      spdlog::info("{} rows of {} tasks -> {}", rows.size(), paths.size(), a->output);
    }
    return 0;
  };
}

}  // namespace ptuner::launch
