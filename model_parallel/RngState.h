#pragma once
// Random number generators, and the policy every rank follows:
//   - Each rank draws dropout masks from the default generators of the devices it computes on:
//     the CPU generator always, and the CUDA generator of its device when it has one.
//   - Seeding (seed_rank_generators): ranks of one TP group share a seed, so the activations
//     replicated across TP get the same masks on every TP rank (their prompts stay identical);
//     DP replicas and pipeline stages get different seeds, so replicas draw different masks.
//     The rank at pp = dp = 0 keeps train.seed itself: one rank draws what it always drew.
//   - Checkpoints save every rank's generator states and a resume at the same layout restores
//     each rank's own (exact resume with dropout at any layout); at another layout the streams
//     cannot continue, and every rank is seeded afresh from (seed, step).
//   - Activation recomputation captures every generator a block's forward may draw from and
//     replays them for the recomputed forward (the same masks), then puts them back.
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>

namespace ptuner::mp {

at::Tensor cpu_rng_state();
void set_cpu_rng_state(const at::Tensor& state);
// The default generator state of `device` (the CPU, or cuda:i).
at::Tensor rng_state(const c10::Device& device);
void set_rng_state(const c10::Device& device, const at::Tensor& state);

// The generators a computation on `device` draws from, captured at one moment.
struct GeneratorStates {
  c10::Device device = c10::Device(c10::kCPU);
  at::Tensor cpu, accelerator;  // accelerator: undefined on a CPU device
  static GeneratorStates capture(const c10::Device& device);
  void restore() const;
};

// Seeds the CPU (and `device`'s) generators of a rank at (pp_rank, dp_rank) of a layout with
// dp_size replicas, from `seed` and an optional `salt` (a resume step): the same on every TP rank.
uint64_t rank_seed(uint64_t seed, int pp_rank, int dp_rank, int dp_size, uint64_t salt = 0);
void seed_rank_generators(const c10::Device& device, uint64_t seed);

}  // namespace ptuner::mp
