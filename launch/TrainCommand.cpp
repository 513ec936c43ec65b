// ptuner train CONFIG.toml [--set section.key=value …] [--resume | --overwrite]
// Exit codes: 0 trained to train.steps; 1 an error (named in the log); 75 stopped by SIGTERM,
// SIGINT or SIGUSR1 with checkpoint-last.h5 written (continue with --resume); 128 + signal when a
// second signal came before the checkpoint was written. Inside a Slurm job a run.dir holding
// checkpoint-last.h5 resumes without --resume (train.auto_resume), so a requeued job continues.
#include <spdlog/spdlog.h>

#include "launch/Commands.h"
#include "dist/MpiCommunicator.h"
#include "launch/RunSetup.h"
#include "train/DryRun.h"
#include "train/RunGuard.h"
#include "train/Trainer.h"

namespace ptuner::launch {

Command add_train(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  auto resume = std::make_shared<bool>(false);
  auto overwrite = std::make_shared<bool>(false);
  auto dry = std::make_shared<bool>(false);
  args->add_to(app);
  auto* r = app.add_flag("--resume", *resume, "continue from run.dir/checkpoint-last.h5 exactly where it stopped");
  app.add_flag("--overwrite", *overwrite,
               "start afresh in a run.dir that holds an earlier run, removing its checkpoints and metrics")
      ->excludes(r);
  app.add_flag("--dry-run", *dry,
               "check everything a run checks before step 1 (config, layout, model files, tokenizer, every data file, "
               "evaluation needs, run.dir) without loading weights or training");
  return [args, resume, overwrite, dry]() {
    // From here a signal stops the run at the next step boundary, with a checkpoint.
    train::stop_signal::install();
    auto s = setup_run(*args);
    std::string why;
    const bool resuming = *resume || (!*overwrite && train::auto_resumes(s.config, why));
    if (!why.empty()) spdlog::info("{}", why);
    if (*dry) {
      for (const auto& line : train::dry_run(s.config, *s.ps, resuming)) spdlog::info("{}", line);
      return 0;
    }
    if (resuming) train::check_resumable(s.config);  // before the frozen model loads
    train::Trainer trainer(s.config, *s.ps);
    dist::MpiCommunicator::set_timeout(s.config.dist.timeout_s);  // the model is loaded: time every wait

    return trainer.run(resuming, *overwrite) ? 0 : train::kStoppedExitCode;
  };
}

}  // namespace ptuner::launch
