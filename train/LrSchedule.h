#pragma once
// Learning rate at optimizer step t (0-based), for warm-up length w and total steps T:
//   constant         lr
//   warmup-constant  lr · min(1, (t+1)/w)
//   warmup-linear    lr · min(1, (t+1)/w) · (T − t)/(T − w)   after warm-up, linear to 0 at T
//   warmup-rsqrt     lr · min(1, (t+1)/w) · √(w / max(t+1, w))  (T5's inverse square root)
#include <cstdint>
#include <string>

namespace ptuner::train {

class LrSchedule {
 public:
  LrSchedule(std::string kind, double lr, int64_t warmup_steps, int64_t total_steps);
  double at(int64_t step) const;

 private:
  std::string kind_;
  double lr_;
  int64_t warmup_, total_;
};

}  // namespace ptuner::train
