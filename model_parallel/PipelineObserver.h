#pragma once
// How timing reaches a benchmark without living in the schedule: the schedules and the p2p link
// announce the start and end of each flush, each micro-batch's forward and backward, and each
// point-to-point exchange; an observer (the bench's) does the timing. Without one, nothing is
// measured and nothing is kept.
#include <cstdint>

namespace ptuner::mp {

enum class PipelineEvent { Flush, Forward, Backward, P2P };

class PipelineObserver {
 public:
  virtual ~PipelineObserver() = default;
  // micro: the micro-batch's index in the flush (-1 for Flush and P2P).
  virtual void begin(PipelineEvent event, int64_t micro) = 0;
  virtual void end(PipelineEvent event, int64_t micro) = 0;
};

// begin() now, end() when the scope closes; nothing without an observer.
class ObservedScope {
 public:
  ObservedScope(PipelineObserver* observer, PipelineEvent event, int64_t micro = -1)
      : observer_(observer), event_(event), micro_(micro) {
    if (observer_) observer_->begin(event_, micro_);
  }
  ~ObservedScope() {
    if (observer_) observer_->end(event_, micro_);
  }
  ObservedScope(const ObservedScope&) = delete;
  ObservedScope& operator=(const ObservedScope&) = delete;

 private:
  PipelineObserver* observer_;
  PipelineEvent event_;
  int64_t micro_;
};

}  // namespace ptuner::mp
