// ptuner train CONFIG.toml [--set section.key=value …] [--resume]
#include "launch/Commands.h"
#include "launch/RunSetup.h"
#include "train/Trainer.h"

namespace ptuner::launch {

Command add_train(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  auto resume = std::make_shared<bool>(false);
  args->add_to(app);
  app.add_flag("--resume", *resume, "continue from run.dir/checkpoint-last.h5 exactly where it stopped");
  return [args, resume]() {
    auto s = setup_run(*args);
    train::Trainer trainer(s.config, *s.ps);
    trainer.run(*resume);
    return 0;
  };
}

}  // namespace ptuner::launch
