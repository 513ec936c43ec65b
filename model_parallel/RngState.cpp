#include "model_parallel/RngState.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>

#include <mutex>

namespace ptuner::mp {

namespace {

at::Generator generator_of(const c10::Device& device) {
  return device.is_cpu() ? at::detail::getDefaultCPUGenerator() : at::globalContext().defaultGenerator(device);
}

}  // namespace

at::Tensor rng_state(const c10::Device& device) {
  auto gen = generator_of(device);
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_rng_state(const c10::Device& device, const at::Tensor& state) {
  auto gen = generator_of(device);
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

at::Tensor cpu_rng_state() { return rng_state(c10::Device(c10::kCPU)); }
void set_cpu_rng_state(const at::Tensor& state) { set_rng_state(c10::Device(c10::kCPU), state); }

GeneratorStates GeneratorStates::capture(const c10::Device& device) {
  GeneratorStates s;
  s.device = device;
  s.cpu = cpu_rng_state();
  if (!device.is_cpu()) s.accelerator = rng_state(device);
  return s;
}

void GeneratorStates::restore() const {
  set_cpu_rng_state(cpu);
  if (accelerator.defined()) set_rng_state(device, accelerator);
}

uint64_t rank_seed(uint64_t seed, int pp_rank, int dp_rank, int dp_size, uint64_t salt) {
  const uint64_t replica = static_cast<uint64_t>(pp_rank) * static_cast<uint64_t>(dp_size) + static_cast<uint64_t>(dp_rank);
  // Distinct odd multipliers keep (replica, salt) pairs apart; (0, 0) leaves the seed as it is.
  return seed + replica * 0x9E3779B97F4A7C15ULL + salt * 0xBF58476D1CE4E5B9ULL;
}

void seed_rank_generators(const c10::Device& device, uint64_t seed) {
  auto cpu = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(cpu.mutex());
    cpu.set_current_seed(seed);
  }
  if (!device.is_cpu()) {
    auto gen = generator_of(device);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(seed);
  }
}

}  // namespace ptuner::mp
