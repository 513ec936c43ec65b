#pragma once
// The `ptuner` subcommands. Each registers its options on the CLI11 app and returns the function
// that runs it (called after parsing, inside MPI).
#include <CLI/CLI.hpp>

#include <functional>

namespace ptuner::launch {

using Command = std::function<int()>;

Command add_init_model(CLI::App& app);
Command add_train(CLI::App& app);
Command add_eval(CLI::App& app);
Command add_predict(CLI::App& app);
Command add_tokenize(CLI::App& app);
// Registers `stats` and `bench` (add_data_bench) under the `data` subcommand.
Command add_data_stats(CLI::App& app);
Command add_data_bench(CLI::App& app);
Command add_plan(CLI::App& app);
Command add_bench(CLI::App& app);
// Registers `export` under the `prompt` subcommand.
Command add_prompt(CLI::App& app);
// Registers `keys` under the `config` subcommand.
Command add_config(CLI::App& app);
Command add_report(CLI::App& app);

}  // namespace ptuner::launch
