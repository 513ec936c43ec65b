// ptuner data stats: what a data file gives when read as training reads it (or as evaluation
// reads it, with --eval): records, examples, malformed records with their first reasons, and
// input / target length percentiles (p50, p90, p99, max) in tokens (with the EOS) when a
// tokenizer is given, else in characters. Malformed records are counted, never fatal.
//
// add_data_stats(app) registers the `stats` subcommand under `app`, the `data` subcommand, and
// `bench` next to it (launch/DataBenchCommand.cpp), so main.cpp registers `data` like the
// others: add("data", "Inspect data files", add_data_stats).
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <optional>

#include "data/DataStats.h"
#include "data/Task.h"
#include "data/TaskReader.h"
#include "data/Tokenizer.h"
#include "dist/Check.h"
#include "dist/JsonText.h"
#include "launch/Commands.h"

namespace ptuner::launch {

namespace {
struct DataStatsArgs {
  std::string task;
  std::string file;
  std::string tokenizer;
  bool json = false;
  bool task_prefix = false;
  bool eval = false;
};
}  // namespace

Command add_data_stats(CLI::App& app) {
  auto a = std::make_shared<DataStatsArgs>();
  app.require_subcommand(1);
  auto* stats = app.add_subcommand(
      "stats", "Records, examples, malformed records and length percentiles of a data file");
  stats->add_option("--task", a->task, "task: " + data::known_task_names())->required();
  stats->add_option("--file", a->file, "the data file as the benchmark ships it (plain or gzip)")
      ->required();
  stats->add_option("--tokenizer", a->tokenizer,
                    "sentencepiece model (spiece.model): lengths in tokens; characters without it");
  stats->add_flag("--json", a->json, "one JSON object instead of text");
  stats->add_flag("--task-prefix", a->task_prefix, "keep T5's leading task name in the inputs");
  stats->add_flag("--eval", a->eval,
                  "read as evaluation does (unlabeled rows kept, one ReCoRD example per query, "
                  "WSC negatives kept)");
  Command run_bench = add_data_bench(app);
  Command run_stats = [a]() {
    std::optional<data::Tokenizer> tok;
    if (!a->tokenizer.empty()) tok.emplace(a->tokenizer);
    auto reader = data::TaskReader::open(a->task, a->file, data::OnError::Skip, a->task_prefix,
                                         /*is_training=*/!a->eval);
    std::optional<data::DataStats> collected;
    try {
      collected = data::DataStats::collect(*reader, tok ? &*tok : nullptr);
    } catch (const ptuner::Error& e) {
      if (!a->eval && reader->unlabeled() > 0 && reader->unlabeled() == reader->skipped())
        PTUNER_FAIL("{}; use --eval to read it as evaluation does", e.what());
      throw;
    }
    const data::DataStats& st = *collected;
    if (a->json) {
      auto j = st.to_json();
      j["read_as"] = a->eval ? "evaluation" : "training";
      std::cout << ptuner::json_text(j) << '\n';
    } else {
      std::cout << st.to_text();
    }
    return 0;
  };
  return [stats, run_stats, run_bench]() { return stats->parsed() ? run_stats() : run_bench(); };
}

}  // namespace ptuner::launch
