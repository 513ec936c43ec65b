// The schedule functions at pp = 1 (the MPI layouts test them across stages): every micro-batch
// runs forward then backward in the schedule's order, gradients accumulate in whatever the step
// made trainable, and an observer sees every event.
#include <gtest/gtest.h>

#include <string>

#include "dist/Check.h"
#include "model_parallel/PipelineSchedule.h"
#include "tests/MpiSupport.h"

namespace ptuner::mp {
namespace {

struct Recorder : PipelineObserver {
  std::string events;
  void begin(PipelineEvent e, int64_t micro) override {
    if (e == PipelineEvent::Flush) events += "[";
    if (e == PipelineEvent::Forward) events += "F" + std::to_string(micro);
    if (e == PipelineEvent::Backward) events += "B" + std::to_string(micro);
    if (e == PipelineEvent::P2P) events += "P";
  }
  void end(PipelineEvent e, int64_t) override {
    if (e == PipelineEvent::Flush) events += "]";
  }
};

struct OneStage : ::testing::Test {
  dist::ParallelState ps{dist::Layout{}, ptuner::testing::self()};
  PipelineLink link{ps, torch::TensorOptions(), 3};
  torch::Tensor w = torch::tensor({1.0, -2.0, 0.5}, torch::requires_grad());
  std::vector<torch::Tensor> xs = {torch::tensor({1.0, 2.0, 3.0}), torch::tensor({-1.0, 0.0, 4.0}),
                                   torch::tensor({0.5, 0.5, 0.5})};
  // Micro-batch i's loss: (i + 1) · Σ w ⊙ x_i.
  StageStep step{[](int64_t) { return Shapes{}; }, [](int64_t) { return Shapes{}; },
                 [this](int64_t i, const std::vector<torch::Tensor>& inputs) -> std::vector<torch::Tensor> {
                   EXPECT_TRUE(inputs.empty());
                   return {(w * xs.at(i)).sum() * static_cast<double>(i + 1)};
                 }};
  torch::Tensor expected_grad() const { return xs[0] + 2 * xs[1] + 3 * xs[2]; }
};

TEST_F(OneStage, OneFOneBRunsEachMicroBatchForwardThenBackwardAndAccumulates) {
  Recorder r;
  one_f_one_b(3, link, step, &r);
  EXPECT_EQ(r.events, "[F0B0F1B1F2B2]");
  EXPECT_TRUE(torch::allclose(w.grad(), expected_grad()));
}

TEST_F(OneStage, GPipeRunsAllForwardsThenAllBackwards) {
  Recorder r;
  gpipe(3, link, step, &r);
  EXPECT_EQ(r.events, "[F0F1F2B0B1B2]");
  EXPECT_TRUE(torch::allclose(w.grad(), expected_grad()));
}

TEST_F(OneStage, WorksWithoutAnObserverAndNamesUnknownSchedules) {
  schedule_named("1f1b")(3, link, step, nullptr);
  EXPECT_TRUE(torch::allclose(w.grad(), expected_grad()));
  EXPECT_EQ(schedule_named("gpipe"), &gpipe);
  try {
    schedule_named("interleaved");
    FAIL() << "no error";
  } catch (const ptuner::Error& e) {
    EXPECT_STREQ(e.what(), "parallel.schedule 'interleaved' is not one of: 1f1b, gpipe");
  }
}

TEST_F(OneStage, TheLastStageMustReturnOneLoss) {
  StageStep two = step;
  two.forward = [this](int64_t i, const std::vector<torch::Tensor>&) -> std::vector<torch::Tensor> {
    return {w.sum(), w.sum()};
  };
  EXPECT_THROW(one_f_one_b(1, link, two, nullptr), ptuner::Error);
}

}  // namespace
}  // namespace ptuner::mp
