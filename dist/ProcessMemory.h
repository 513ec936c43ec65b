#pragma once
// This process's resident memory, from /proc/self/status (Linux): current (VmRSS) and peak
// (VmHWM) bytes; -1 where the file is not there.
#include <cstdint>

namespace ptuner::dist {

int64_t current_rss_bytes();
int64_t peak_rss_bytes();
// Sets the peak back to the current RSS (writes 5 to /proc/self/clear_refs), so that a later
// peak_rss_bytes() is the peak since this call; false where the kernel does not allow it.
bool reset_peak_rss();

}  // namespace ptuner::dist
