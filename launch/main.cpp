// ptuner: prompt tuning of a frozen T5 over tensor, pipeline and data parallelism.
#include <spdlog/spdlog.h>

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
  add("train", "Prompt-tune the frozen model described by a TOML config", launch::add_train);
  add("eval", "Evaluate a trained prompt checkpoint on the config's dev file; prints metrics as JSON",
      launch::add_eval);
  add("tokenize", "Show the ids (with the appended EOS) and pieces of texts", launch::add_tokenize);
  add("plan", "Per-rank blocks, parameters and memory of a layout, without loading weights", launch::add_plan);
  add("data", "Inspect data files as training reads them (`ptuner data stats`, `ptuner data bench`)",
      launch::add_data_stats);
  CLI11_PARSE(app, argc, argv);

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
