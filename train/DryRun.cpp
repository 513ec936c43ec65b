#include "train/DryRun.h"

#include <fmt/format.h>

#include <filesystem>
#include <memory>

#include "data/TaskReader.h"
#include "data/Tokenizer.h"
#include "dist/Check.h"
#include "model_parallel/StageSplit.h"
#include "model_parallel/WeightStore.h"
#include "train/Evaluator.h"
#include "train/FrozenModel.h"
#include "train/PromptMethod.h"
#include "train/RunGuard.h"
#include "train/Spot.h"
#include "train/Trainer.h"

namespace ptuner::train {

namespace {

// Reads a training file through as training does; returns "N examples (M malformed records skipped)".
std::string read_training_file(const std::string& task, const std::string& path, const RunConfig& c) {
  auto reader = data::TaskReader::open(task, path, data::on_error_named(c.data.on_error), c.data.task_prefix,
                                       /*is_training=*/true);
  data::TextToTextExample ex;
  int64_t n = 0;
  while (reader->next(ex)) ++n;
  return fmt::format("{} examples{}", n,
                     reader->skipped() > 0 ? fmt::format(" ({} malformed records skipped)", reader->skipped()) : "");
}

// SPoT transfer: the source is there, fits prompt.length and d_model (or is resized as the config
// says) and was trained on this frozen model, as a fresh run checks it. A resume takes its prompt
// from the checkpoint and needs no source. `fingerprint`: this run's frozen model's.
std::string check_transfer_source(const RunConfig& c, const FrozenArchitecture& arch, const std::string& fingerprint,
                                  bool resume) {
  const std::string& path = c.prompt.init_file;
  if (!std::filesystem::exists(path)) {
    PTUNER_CHECK(resume, "prompt.init_file {} does not exist (a fresh run needs its source: train the source run first)",
                 path);
    return fmt::format("prompt.init_file {}: absent, not needed to resume", path);
  }
  const SourcePrompt source = read_source_prompt(path);
  check_source_model(source, arch.source, fingerprint);
  fit_rows(source.rows, c.prompt.length, arch.config.d_model, c.prompt.init_file_resize, "prompt.init_file " + path);
  return fmt::format("prompt.init_file {}: {} × {} prompt{}, digest {}", path, source.rows.size(0),
                     source.rows.size(1),
                     source.model_fingerprint.empty() ? " (no model fingerprint: a PEFT adapter)"
                                                      : " of this frozen model",
                     source.digest);
}

}  // namespace

std::vector<std::string> dry_run(const RunConfig& c, const dist::ParallelState& ps, bool resume) {
  std::vector<std::string> out;
  out.push_back(fmt::format("config {}: valid; layout {} over {} ranks", c.source, ps.layout().str(),
                            ps.world().size()));
  // The frozen model: architecture, stages, weight files (headers only), tokenizer.
  const FrozenArchitecture arch = frozen_architecture(c, ps.tp_size());
  const auto stages = mp::split_stages(
      arch.config, ps.pp_size(),
      mp::StageCosts::of(arch.config, c.data.max_input_length, c.data.max_target_length, c.micro_batch_size()),
      c.pipeline.stage_blocks);
  std::string split;
  for (const auto& s : stages) split += (split.empty() ? "" : "; ") + s.str();
  out.push_back(fmt::format("model {}: {} parameters; stages: {}", arch.source, arch.config.num_parameters(), split));
  std::unique_ptr<mp::WeightStore> store;
  if (!c.model.path.empty()) {
    store = std::make_unique<mp::WeightStore>(c.model.path);
    out.push_back(fmt::format("weights in {}: {} tensors listed (not loaded)", c.model.path, store->names().size()));
  }
  if (!c.model.path.empty() || !c.model.tokenizer.empty()) {
    const data::Tokenizer tokenizer(c.tokenizer_path());
    check_tokenizer_fits(tokenizer, arch.config, arch.source);
    out.push_back(fmt::format("tokenizer {}: {} ids", tokenizer.model_path(), tokenizer.vocab_size()));
  }
  out.push_back(fmt::format("prompt: {} with {} encoder rows", c.prompt.method, encoder_prefix_rows(c)));
  if (c.prompt.init == "file")
    out.push_back(check_transfer_source(c, arch, frozen_model_fingerprint(arch.config, c, store.get(), ps.device()),
                                        resume));
  // Training data, each file read through.
  if (!c.data.train.empty())
    out.push_back(fmt::format("data.train {} ({}): {}", c.data.train, c.data.task,
                              read_training_file(c.data.task, c.data.train, c)));
  for (const auto& m : c.data.mixture)
    out.push_back(fmt::format("mixture {} ({}): {}", m.train, m.task, read_training_file(m.task, m.train, c)));
  PTUNER_CHECK(!c.data.train.empty() || !c.data.mixture.empty(), "{}: neither data.train nor [[data.mixture]] is set",
               c.source);
  // Evaluation.
  const auto labels = check_eval_needs(c);
  if (c.train.eval_every > 0) {
    const auto sets = run_dev_sets(c);
    const std::string every =
        c.train.eval_every == 1 ? "evaluated every step" : fmt::format("evaluated every {} steps", c.train.eval_every);
    DevLabels mixture;
    int64_t mixture_files = 0;
    for (size_t i = 0; i < sets.size(); ++i) {
      if (!sets[i].averaged) continue;
      mixture.examples += labels[i].examples, mixture.labeled += labels[i].labeled, ++mixture_files;
    }
    if (mixture_files > 0)
      out.push_back(fmt::format("the mixture's {} dev files: {} examples, {} labeled; {}", mixture_files,
                                mixture.examples, mixture.labeled, every));
    for (size_t i = 0; i < sets.size(); ++i) {
      if (sets[i].averaged) continue;
      out.push_back(fmt::format("{} {}{}: {} examples, {} labeled; {}", sets[i].key, sets[i].path,
                                sets[i].name.empty() ? "" : " (as " + sets[i].name + "/…)", labels[i].examples,
                                labels[i].labeled, every));
    }
  }
  // The run directory.
  if (resume) {
    check_resumable(c);
    out.push_back(fmt::format("run.dir {}: resumes from checkpoint-last.h5", c.run.dir));
  } else {
    if (std::filesystem::exists(c.run.dir)) fresh_run_check(c.run.dir, /*overwrite=*/false);
    out.push_back(fmt::format("run.dir {}: a fresh run", c.run.dir));
  }
  out.push_back("dry run: nothing loaded or trained");
  return out;
}

}  // namespace ptuner::train
