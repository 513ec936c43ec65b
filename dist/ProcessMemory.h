#pragma once
// This process's resident memory, from /proc/self/status (Linux): current (VmRSS) and peak
// (VmHWM) bytes; -1 where the file is not there.
#include <cstdint>

namespace ptuner::dist {

int64_t current_rss_bytes();
int64_t peak_rss_bytes();

}  // namespace ptuner::dist
