#pragma once
// A fingerprint of the frozen model a prompt was trained on: 16 hex digits of a 64-bit FNV-1a
// hash over the architecture (config.json fields), every tensor's name and shape, and a sample of
// each tensor's values (its first row). Read from the checkpoint files, so it does not depend on
// the parallel layout; cheap even for T5-XXL.
#include <cstdint>
#include <string>

#include "model_parallel/T5Config.h"
#include "model_parallel/WeightStore.h"

namespace ptuner::mp {

std::string model_fingerprint(const T5Config& config, const WeightStore& store);
// For a named preset with random weights (benchmarks): architecture + seed, and where the weights
// were drawn when not on the CPU (a GPU's generator draws other values: init_weights).
std::string preset_fingerprint(const T5Config& config, const std::string& preset, uint64_t seed,
                               const std::string& drawn_on = "cpu");

}  // namespace ptuner::mp
