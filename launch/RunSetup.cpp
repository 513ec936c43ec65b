#include "launch/RunSetup.h"

#include <spdlog/spdlog.h>

#include "dist/Logging.h"
#include "dist/Check.h"
#include "dist/DeviceChoice.h"
#include "dist/MpiCommunicator.h"
#ifdef PTUNER_HAVE_NCCL
#include "dist/NcclCommunicator.h"
#endif

namespace ptuner::launch {

void RunArgs::add_to(CLI::App& app) {
  app.add_option("config", config, "run configuration (TOML)")->required();
  app.add_option("--set", overrides, "override a config key: --set section.key=value (repeatable)");
}

RunSetup setup_run(const RunArgs& args) {
  RunSetup s;
  s.config = train::RunConfig::from_file(args.config, args.overrides);
  auto mpi = dist::MpiCommunicator::world();
  // The device first (an impossible choice, or ranks that chose different kinds, fail on every
  // rank before any loading), then communicators that serve its tensors.
  const auto device = dist::agree_on_device(*mpi, s.config.model.device, [&] {
    return dist::choose_device(s.config.model.device, mpi->rank());
  });
  std::shared_ptr<dist::Communicator> world = mpi;
  if (device.is_cuda()) {
#ifdef PTUNER_HAVE_NCCL
    world = dist::NcclCommunicator::world(device.index());
#else
    PTUNER_FAIL("model.device = \"{}\" chose {} on rank {}, but this ptuner was built without NCCL", s.config.model.device,
                device.str(), mpi->rank());
#endif
  }
  s.ps = std::make_unique<dist::ParallelState>(s.config.parallel, world, device);
  dist::init_logging(s.ps->coords().tag(), s.ps->world_rank());
  return s;
}

}  // namespace ptuner::launch
