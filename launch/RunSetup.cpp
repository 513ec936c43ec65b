#include "launch/RunSetup.h"

#include <spdlog/spdlog.h>

#include "dist/Logging.h"
#include "dist/MpiCommunicator.h"

namespace ptuner::launch {

void RunArgs::add_to(CLI::App& app) {
  app.add_option("config", config, "run configuration (TOML)")->required();
  app.add_option("--set", overrides, "override a config key: --set section.key=value (repeatable)");
}

RunSetup setup_run(const RunArgs& args) {
  RunSetup s;
  s.config = train::RunConfig::from_file(args.config, args.overrides);
  auto world = dist::MpiCommunicator::world();
  s.ps = std::make_unique<dist::ParallelState>(s.config.parallel, world);
  dist::init_logging(s.ps->coords().tag(), s.ps->world_rank());
  return s;
}

}  // namespace ptuner::launch
