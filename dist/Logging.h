#pragma once
// spdlog set-up: every line carries the rank coordinates ("[tp0 pp0 dp0]").
#include <spdlog/spdlog.h>

#include <string>

namespace ptuner::dist {

// `tag` is Coordinates::tag() once the layout is known ("rank 3" before).
// Ranks other than world rank 0 log warnings and errors only unless `all_ranks`.
void init_logging(const std::string& tag, int world_rank, bool all_ranks = false);

}  // namespace ptuner::dist
