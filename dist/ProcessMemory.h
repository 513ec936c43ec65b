#pragma once
// This process's resident memory, from /proc/self/status (Linux): current (VmRSS) and peak
// (VmHWM) bytes; -1 where the file is not there. And its GPU memory: what LibTorch's CUDA caching
// allocator holds for tensors on a device, at most since the last reset (a CUDA LibTorch only,
// PTUNER_TORCH_CUDA; -1 elsewhere).
#include <c10/core/Device.h>

#include <cstdint>

namespace ptuner::dist {

int64_t current_rss_bytes();
int64_t peak_rss_bytes();
// Sets the peak back to the current RSS (writes 5 to /proc/self/clear_refs), so that a later
// peak_rss_bytes() is the peak since this call; false where the kernel does not allow it.
bool reset_peak_rss();

// Peak bytes allocated to tensors on `device` since the last reset_device_peak (-1: a CPU device
// or a LibTorch without CUDA).
int64_t device_peak_allocated_bytes(const c10::Device& device);
void reset_device_peak(const c10::Device& device);
// Waits for the device's queued work (host timers around GPU work need it); nothing on the CPU.
void synchronize_device(const c10::Device& device);

}  // namespace ptuner::dist
