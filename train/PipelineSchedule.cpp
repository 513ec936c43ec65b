#include "train/PipelineSchedule.h"

#include <time.h>

#include <chrono>

#include "dist/Check.h"

namespace ptuner::train {

namespace {

using Shapes = std::vector<std::vector<int64_t>>;

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (auto x : shape) n *= x;
  return n;
}

torch::Tensor pack(const std::vector<torch::Tensor>& ts) {
  std::vector<torch::Tensor> flat;
  for (const auto& t : ts) flat.push_back(t.detach().reshape({-1}));
  return torch::cat(flat).contiguous();
}

std::vector<torch::Tensor> unpack(const torch::Tensor& buf, const Shapes& shapes) {
  std::vector<torch::Tensor> out;
  int64_t at = 0;
  for (const auto& s : shapes) {
    out.push_back(buf.narrow(0, at, numel(s)).view(s).clone());
    at += numel(s);
  }
  return out;
}

torch::Tensor buffer_for(const Shapes& shapes, torch::ScalarType dtype) {
  int64_t n = 0;
  for (const auto& s : shapes) n += numel(s);
  return torch::empty({n}, torch::TensorOptions().dtype(dtype));
}

struct Timer {
  double& total;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  ~Timer() { total += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); }
};

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Records one StageOp for the enclosing scope.
class OpTimer {
 public:
  OpTimer(std::vector<StageOp>& ops, char kind, int64_t micro) : ops_(ops), op_{kind, micro, 0, 0} {}
  ~OpTimer() {
    op_.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_).count();
    op_.cpu_s = process_cpu_seconds() - cpu_;
    ops_.push_back(op_);
  }

 private:
  std::vector<StageOp>& ops_;
  StageOp op_;
  std::chrono::steady_clock::time_point wall_ = std::chrono::steady_clock::now();
  double cpu_ = process_cpu_seconds();
};

constexpr int kTag = 7;

}  // namespace

PipelineSchedule::PipelineSchedule(mp::PipelineStage& stage, const dist::ParallelState& ps, std::string kind)
    : stage_(stage), ps_(ps), kind_(std::move(kind)) {
  PTUNER_CHECK(kind_ == "1f1b" || kind_ == "gpipe", "parallel.schedule '{}' is not one of: 1f1b, gpipe", kind_);
}

PipelineSchedule::InFlight PipelineSchedule::forward_step(const mp::MicroBatch& mb, std::vector<torch::Tensor> inputs) {
  OpTimer timer(ops_, 'F', micro_index(mb));
  InFlight f;
  f.mb = &mb;
  for (auto& t : inputs) t.requires_grad_(true);
  f.inputs = inputs;
  mp::LossSums loss;
  const bool first = ps_.is_first_stage();
  f.outputs = stage_.forward(mb, inputs, first ? prompt_->injection() : mp::PromptInjection{}, z_loss_, &loss);
  if (ps_.is_last_stage()) {
    f.scaled_loss = loss.total / normaliser_;
    sums_.ce += loss.ce.item<double>();
    sums_.total += loss.total.item<double>();
  }
  return f;
}

std::vector<torch::Tensor> PipelineSchedule::backward_step(InFlight& f, const std::vector<torch::Tensor>& grads) {
  OpTimer timer(ops_, 'B', micro_index(*f.mb));
  if (ps_.is_last_stage()) {
    f.scaled_loss.backward();
  } else {
    std::vector<torch::Tensor> roots, root_grads;
    for (size_t i = 0; i < f.outputs.size(); ++i)
      if (f.outputs[i].requires_grad()) roots.push_back(f.outputs[i]), root_grads.push_back(grads.at(i));
    if (!roots.empty()) torch::autograd::backward(roots, root_grads);
  }
  std::vector<torch::Tensor> input_grads;
  for (auto& t : f.inputs) input_grads.push_back(t.grad().defined() ? t.grad() : torch::zeros_like(t));
  f = InFlight{};  // free this micro-batch's activations
  return input_grads;
}

std::vector<torch::Tensor> PipelineSchedule::recv_forward(const mp::MicroBatch& mb) {
  if (ps_.is_first_stage()) return {};
  Timer t{p2p_seconds_};
  auto shapes = stage_.input_shapes(mb);
  auto buf = buffer_for(shapes, stage_.model()->dtype());
  ps_.world().recv(buf, ps_.prev_rank(), kTag);
  return unpack(buf, shapes);
}

void PipelineSchedule::send_forward(const std::vector<torch::Tensor>& outputs) {
  if (ps_.is_last_stage()) return;
  Timer t{p2p_seconds_};
  ps_.world().send(pack(outputs), ps_.next_rank(), kTag);
}

std::vector<torch::Tensor> PipelineSchedule::recv_backward(const mp::MicroBatch& mb) {
  if (ps_.is_last_stage()) return {};
  Timer t{p2p_seconds_};
  auto shapes = stage_.output_shapes(mb);
  auto buf = buffer_for(shapes, stage_.model()->dtype());
  ps_.world().recv(buf, ps_.next_rank(), kTag);
  return unpack(buf, shapes);
}

void PipelineSchedule::send_backward(const std::vector<torch::Tensor>& input_grads) {
  if (ps_.is_first_stage()) return;
  Timer t{p2p_seconds_};
  ps_.world().send(pack(input_grads), ps_.prev_rank(), kTag);
}

std::vector<torch::Tensor> PipelineSchedule::send_forward_recv_backward(const std::vector<torch::Tensor>& outputs,
                                                                        const mp::MicroBatch& waiting) {
  if (ps_.is_last_stage()) return {};
  Timer t{p2p_seconds_};
  auto shapes = stage_.output_shapes(waiting);
  auto buf = buffer_for(shapes, stage_.model()->dtype());
  ps_.world().sendrecv(pack(outputs), ps_.next_rank(), buf, ps_.next_rank(), kTag);
  return unpack(buf, shapes);
}

std::vector<torch::Tensor> PipelineSchedule::send_backward_recv_forward(const std::vector<torch::Tensor>& input_grads,
                                                                        const mp::MicroBatch& next) {
  if (ps_.is_first_stage()) return {};
  Timer t{p2p_seconds_};
  auto shapes = stage_.input_shapes(next);
  auto buf = buffer_for(shapes, stage_.model()->dtype());
  ps_.world().sendrecv(pack(input_grads), ps_.prev_rank(), buf, ps_.prev_rank(), kTag);
  return unpack(buf, shapes);
}

ScheduleSums PipelineSchedule::run(const std::vector<mp::MicroBatch>& micro, PromptMethod& prompt, double z_loss,
                                   double normaliser) {
  prompt_ = &prompt;
  z_loss_ = z_loss;
  normaliser_ = normaliser;
  sums_ = {};
  ops_.clear();
  micro_ = &micro;
  // On leaving: the flush's wall time, and no pointer into the caller's micro-batches.
  struct Finish {
    PipelineSchedule& self;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    ~Finish() {
      self.run_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      self.micro_ = nullptr;
    }
  } finish{*this};
  const int64_t m = static_cast<int64_t>(micro.size());
  if (kind_ == "gpipe") {
    std::vector<InFlight> live;
    for (int64_t i = 0; i < m; ++i) {
      live.push_back(forward_step(micro[i], recv_forward(micro[i])));
      send_forward(live.back().outputs);
    }
    for (int64_t i = 0; i < m; ++i) send_backward(backward_step(live[i], recv_backward(micro[i])));
    return sums_;
  }
  const int64_t warmup = std::min<int64_t>(ps_.pp_size() - ps_.pp_rank() - 1, m);
  const int64_t steady = m - warmup;
  std::deque<InFlight> live;
  for (int64_t i = 0; i < warmup; ++i) {
    live.push_back(forward_step(micro[i], recv_forward(micro[i])));
    send_forward(live.back().outputs);
  }
  std::vector<torch::Tensor> inputs;
  if (steady > 0) inputs = recv_forward(micro[warmup]);
  for (int64_t i = 0; i < steady; ++i) {
    live.push_back(forward_step(micro[warmup + i], inputs));
    auto grads = send_forward_recv_backward(live.back().outputs, *live.front().mb);
    auto input_grads = backward_step(live.front(), grads);
    live.pop_front();
    if (i == steady - 1)
      send_backward(input_grads);
    else
      inputs = send_backward_recv_forward(input_grads, micro[warmup + i + 1]);
  }
  while (!live.empty()) {
    auto grads = recv_backward(*live.front().mb);
    send_backward(backward_step(live.front(), grads));
    live.pop_front();
  }
  return sums_;
}

}  // namespace ptuner::train
