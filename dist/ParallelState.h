#pragma once
// The 3-D layout world = tp × pp × dp, rank order as Megatron: TP fastest, then DP, then PP:
//   rank = pp_idx·(tp·dp) + dp_idx·tp + tp_idx.
// Built once from the config and passed explicitly; owns the TP, DP and PP groups and names the
// device this rank computes on (its communicators serve tensors of that device: MPI for the
// CPU, NCCL for CUDA).
#include <memory>
#include <string>

#include "dist/Communicator.h"

namespace ptuner::dist {

struct Layout {
  int tp = 1;
  int pp = 1;
  int dp = 1;
  int world() const { return tp * pp * dp; }
  std::string str() const;
};

// Where one rank sits in a layout: pure arithmetic, no communication.
struct Coordinates {
  int tp_idx = 0;
  int pp_idx = 0;
  int dp_idx = 0;
  static Coordinates of(const Layout& layout, int world_rank);
  int world_rank(const Layout& layout) const;
  std::string tag() const;  // "tp0 pp0 dp0"
};

class ParallelState {
 public:
  // Collective over `world`. Fails (before any work) unless tp·pp·dp == world size.
  ParallelState(const Layout& layout, std::shared_ptr<Communicator> world, c10::Device device = c10::kCPU);

  const Layout& layout() const { return layout_; }
  const c10::Device& device() const { return device_; }
  const Coordinates& coords() const { return coords_; }
  int world_rank() const { return world_->rank(); }
  int world_size() const { return world_->size(); }

  int tp_rank() const { return coords_.tp_idx; }
  int pp_rank() const { return coords_.pp_idx; }
  int dp_rank() const { return coords_.dp_idx; }
  int tp_size() const { return layout_.tp; }
  int pp_size() const { return layout_.pp; }
  int dp_size() const { return layout_.dp; }

  bool is_first_stage() const { return coords_.pp_idx == 0; }
  bool is_last_stage() const { return coords_.pp_idx == layout_.pp - 1; }
  // World ranks of the neighbouring stages in the same TP/DP position (-1 at the ends).
  int next_rank() const;
  int prev_rank() const;
  // The one rank that writes checkpoints and metrics.
  bool is_writer() const { return world_->rank() == 0; }

  Communicator& world() const { return *world_; }
  Communicator& tp() const { return *tp_; }
  Communicator& dp() const { return *dp_; }
  Communicator& pp() const { return *pp_; }

 private:
  Layout layout_;
  Coordinates coords_;
  c10::Device device_;
  std::shared_ptr<Communicator> world_, tp_, dp_, pp_;
};

}  // namespace ptuner::dist
