#include "model_parallel/PipelineSchedule.h"

#include <torch/csrc/autograd/autograd.h>

#include <deque>

#include "dist/Check.h"

namespace ptuner::mp {

namespace {

// One micro-batch between its forward and its backward: what backward needs.
struct InFlight {
  int64_t micro = 0;
  std::vector<at::Tensor> inputs, outputs;
};

class Runner {
 public:
  Runner(PipelineLink& link, const StageStep& step, PipelineObserver* observer)
      : link_(link), step_(step), observer_(observer) {}

  InFlight forward(int64_t i, std::vector<at::Tensor> inputs) {
    ObservedScope scope(observer_, PipelineEvent::Forward, i);
    for (auto& t : inputs) t.requires_grad_(true);
    InFlight f{i, inputs, step_.forward(i, inputs)};
    PTUNER_CHECK(link_.has_next() || f.outputs.size() == 1,
                 "the last stage's step must return one loss, it returned {} tensors", f.outputs.size());
    return f;
  }

  // Back-propagates f (with the next stage's gradients of its outputs) and frees its
  // activations; returns the gradients of its inputs for the previous stage.
  std::vector<at::Tensor> backward(InFlight& f, const std::vector<at::Tensor>& output_grads) {
    ObservedScope scope(observer_, PipelineEvent::Backward, f.micro);
    std::vector<at::Tensor> roots, root_grads;
    for (size_t i = 0; i < f.outputs.size(); ++i) {
      if (!f.outputs[i].requires_grad()) continue;
      roots.push_back(f.outputs[i]);
      if (link_.has_next()) root_grads.push_back(output_grads.at(i));
    }
    if (!roots.empty()) torch::autograd::backward(roots, root_grads);
    std::vector<at::Tensor> input_grads;
    for (auto& t : f.inputs) input_grads.push_back(t.grad().defined() ? t.grad() : at::zeros_like(t));
    f = InFlight{};
    return input_grads;
  }

  std::vector<at::Tensor> recv_forward(int64_t i) { return link_.recv_prev(step_.input_shapes(i)); }
  std::vector<at::Tensor> recv_backward(int64_t i) { return link_.recv_next(step_.output_shapes(i)); }

  PipelineLink& link_;
  const StageStep& step_;
  PipelineObserver* observer_;
};

}  // namespace

void gpipe(int64_t m, PipelineLink& link, const StageStep& step, PipelineObserver* observer) {
  ObservedScope flush(observer, PipelineEvent::Flush);
  Runner r(link, step, observer);
  std::vector<InFlight> live;
  for (int64_t i = 0; i < m; ++i) {
    live.push_back(r.forward(i, r.recv_forward(i)));
    link.send_next(live.back().outputs);
  }
  for (int64_t i = 0; i < m; ++i) link.send_prev(r.backward(live[i], r.recv_backward(i)));
}

void one_f_one_b(int64_t m, PipelineLink& link, const StageStep& step, PipelineObserver* observer) {
  ObservedScope flush(observer, PipelineEvent::Flush);
  Runner r(link, step, observer);
  // Warm-up: as many forwards as there are stages after this one.
  std::deque<InFlight> live;
  int64_t next = 0;
  auto run_forward = [&](std::vector<at::Tensor> inputs) {
    live.push_back(r.forward(next, std::move(inputs)));
    ++next;
  };
  const int64_t warmup = std::min<int64_t>(link.stages_after(), m);
  for (int64_t i = 0; i < warmup; ++i) {
    run_forward(r.recv_forward(next));
    link.send_next(live.back().outputs);
  }
  const int64_t steady = m - warmup;
  std::vector<at::Tensor> inputs;
  if (steady > 0) inputs = r.recv_forward(next);
  for (int64_t i = 0; i < steady; ++i) {
    run_forward(inputs);
    auto grads = link.send_next_recv_next(live.back().outputs, step.output_shapes(live.front().micro));
    auto input_grads = r.backward(live.front(), grads);
    live.pop_front();
    if (i == steady - 1)
      link.send_prev(input_grads);
    else
      inputs = link.send_prev_recv_prev(input_grads, step.input_shapes(next));
  }
  while (!live.empty()) {
    auto grads = r.recv_backward(live.front().micro);
    link.send_prev(r.backward(live.front(), grads));
    live.pop_front();
  }
}

Schedule schedule_named(const std::string& name) {
  if (name == "1f1b") return &one_f_one_b;
  if (name == "gpipe") return &gpipe;
  PTUNER_FAIL("parallel.schedule '{}' is not one of: 1f1b, gpipe", name);
}

}  // namespace ptuner::mp
