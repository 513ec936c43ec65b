#include "model_parallel/ModelFingerprint.h"

#include <fmt/format.h>

namespace ptuner::mp {

namespace {

struct Fnv1a {
  uint64_t h = 0xcbf29ce484222325ULL;
  void add(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  }
  void add(const std::string& s) { add(s.data(), s.size()); }
  std::string hex() const { return fmt::format("{:016x}", h); }
};

void add_architecture(Fnv1a& f, const T5Config& c) {
  c.check_settled("model fingerprint");
  auto j = c.to_json();
  j.erase("dropout_rate");  // training-time knob, not part of the frozen function
  j.erase("torch_dtype");
  f.add(j.dump());
}

}  // namespace

std::string model_fingerprint(const T5Config& config, const WeightStore& store) {
  Fnv1a f;
  add_architecture(f, config);
  for (const auto& name : store.names()) {
    const auto& info = store.info(name);
    f.add(name);
    f.add(info.shape.data(), info.shape.size() * sizeof(int64_t));
    if (info.numel() == 0) continue;
    auto sample = info.shape.size() >= 2 ? store.load_slice(name, 0, 0, 1, torch::kFloat32)
                                         : store.load(name, torch::kFloat32);
    sample = sample.reshape({-1}).contiguous();
    f.add(sample.data_ptr(), static_cast<size_t>(sample.numel()) * sizeof(float));
  }
  return f.hex();
}

std::string preset_fingerprint(const T5Config& config, const std::string& preset, uint64_t seed,
                               const std::string& drawn_on) {
  Fnv1a f;
  add_architecture(f, config);
  f.add(fmt::format("preset:{}:seed:{}", preset, seed));
  if (drawn_on != "cpu") f.add(":drawn-on:" + drawn_on);
  return f.hex();
}

}  // namespace ptuner::mp
