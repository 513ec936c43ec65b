#include "dist/DeviceClock.h"

#include <chrono>
#include <vector>
#if PTUNER_TORCH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#endif

#include "dist/Check.h"

namespace ptuner::dist {

struct DeviceClock::Impl {
  explicit Impl(const c10::Device& d) : device(d) {}
  c10::Device device;
  size_t used = 0;
  std::vector<std::chrono::steady_clock::time_point> host;
#if PTUNER_TORCH_CUDA
  std::vector<at::cuda::CUDAEvent> events;  // timing events (cudaEventDefault), reused after clear()
#endif
};

DeviceClock::DeviceClock(const c10::Device& device) : impl_(std::make_unique<Impl>(device)) {}
DeviceClock::~DeviceClock() = default;

bool DeviceClock::on_device() const {
#if PTUNER_TORCH_CUDA
  return impl_->device.is_cuda();
#else
  return false;
#endif
}

size_t DeviceClock::mark() {
  const size_t i = impl_->used++;
#if PTUNER_TORCH_CUDA
  if (on_device()) {
    if (impl_->events.size() <= i) impl_->events.emplace_back(cudaEventDefault);
    impl_->events[i].record(at::cuda::getCurrentCUDAStream(impl_->device.index()));  // the rank's stream
    return i;
  }
#endif
  if (impl_->host.size() <= i) impl_->host.resize(i + 1);
  impl_->host[i] = std::chrono::steady_clock::now();
  return i;
}

double DeviceClock::seconds(size_t from, size_t to) const {
  PTUNER_CHECK(from < impl_->used && to < impl_->used, "DeviceClock: marks {} and {} of {}", from, to, impl_->used);
#if PTUNER_TORCH_CUDA
  if (on_device()) return impl_->events[from].elapsed_time(impl_->events[to]) / 1e3;
#endif
  return std::chrono::duration<double>(impl_->host[to] - impl_->host[from]).count();
}

void DeviceClock::clear() { impl_->used = 0; }

}  // namespace ptuner::dist
