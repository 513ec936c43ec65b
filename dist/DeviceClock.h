#pragma once
// Points in a device's queue of work, for timing that work (the bench): CUDA events on the stream
// LibTorch computes on where the device is a GPU (a CUDA LibTorch, PTUNER_TORCH_CUDA), else the
// host's steady clock. A mark costs the host next to nothing and waits for nothing; read the
// seconds between marks once the device has drained (synchronize_device).
#include <c10/core/Device.h>

#include <cstddef>
#include <memory>

namespace ptuner::dist {

class DeviceClock {
 public:
  explicit DeviceClock(const c10::Device& device);
  ~DeviceClock();
  DeviceClock(const DeviceClock&) = delete;
  DeviceClock& operator=(const DeviceClock&) = delete;

  // A point at the end of the work queued so far: its index among the marks since clear().
  size_t mark();
  // Seconds from mark `from` to mark `to` (both reached by the device).
  double seconds(size_t from, size_t to) const;
  // Forgets the marks (their events are reused).
  void clear();
  // True where the marks are the device's own (CUDA events), false for the host's clock.
  bool on_device() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ptuner::dist
