#include "train/LrSchedule.h"

#include <algorithm>
#include <cmath>

#include "dist/Check.h"

namespace ptuner::train {

LrSchedule::LrSchedule(std::string kind, double lr, int64_t warmup, int64_t total)
    : kind_(std::move(kind)), lr_(lr), warmup_(warmup), total_(total) {
  PTUNER_CHECK(kind_ == "constant" || kind_ == "warmup-constant" || kind_ == "warmup-linear" ||
                   kind_ == "warmup-rsqrt",
               "unknown learning-rate schedule '{}'", kind_);
  PTUNER_CHECK(kind_ != "warmup-linear" || warmup_ < total_,
               "warmup-linear: optim.warmup_steps {} must be below train.steps {}", warmup_, total_);
}

double LrSchedule::at(int64_t step) const {
  if (kind_ == "constant") return lr_;
  const double t = static_cast<double>(step + 1);
  const double warm = warmup_ > 0 ? std::min(1.0, t / static_cast<double>(warmup_)) : 1.0;
  if (kind_ == "warmup-constant") return lr_ * warm;
  if (kind_ == "warmup-linear") {
    if (step < warmup_) return lr_ * warm;
    return lr_ * static_cast<double>(total_ - step) / static_cast<double>(total_ - warmup_);
  }
  const double w = static_cast<double>(std::max<int64_t>(warmup_, 1));
  return lr_ * warm * std::sqrt(w / std::max(t, w));
}

}  // namespace ptuner::train
