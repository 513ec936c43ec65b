#include "dist/Logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace ptuner::dist {

void init_logging(const std::string& tag, int world_rank, bool all_ranks) {
  auto logger = spdlog::get("ptuner");
  if (!logger) {
    logger = spdlog::stderr_color_mt("ptuner");
    spdlog::set_default_logger(logger);
  }
  logger->set_pattern(fmt::format("[%H:%M:%S] [{}] %^%l%$ %v", tag));
  logger->set_level(world_rank == 0 || all_ranks ? spdlog::level::info : spdlog::level::warn);
}

}  // namespace ptuner::dist
