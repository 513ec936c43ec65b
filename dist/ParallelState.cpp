#include "dist/ParallelState.h"

#include "dist/Check.h"

namespace ptuner::dist {

std::string Layout::str() const { return fmt::format("tp={} pp={} dp={}", tp, pp, dp); }

Coordinates Coordinates::of(const Layout& l, int r) {
  PTUNER_CHECK(r >= 0 && r < l.world(), "rank {} is outside the layout {} (world {})", r, l.str(), l.world());
  Coordinates c;
  c.tp_idx = r % l.tp;
  c.dp_idx = (r / l.tp) % l.dp;
  c.pp_idx = r / (l.tp * l.dp);
  return c;
}

int Coordinates::world_rank(const Layout& l) const { return pp_idx * (l.tp * l.dp) + dp_idx * l.tp + tp_idx; }

std::string Coordinates::tag() const { return fmt::format("tp{} pp{} dp{}", tp_idx, pp_idx, dp_idx); }

ParallelState::ParallelState(const Layout& layout, std::shared_ptr<Communicator> world, c10::Device device)
    : layout_(layout), device_(device), world_(std::move(world)) {
  PTUNER_CHECK(layout_.tp >= 1 && layout_.pp >= 1 && layout_.dp >= 1,
               "parallel layout {} must have every size >= 1", layout_.str());
  PTUNER_CHECK(layout_.world() == world_->size(),
               "parallel layout {} needs tp·pp·dp = {} ranks, but the job has {} ranks", layout_.str(),
               layout_.world(), world_->size());
  coords_ = Coordinates::of(layout_, world_->rank());
  const int r = world_->rank();
  // TP group: same (pp, dp); DP group: same (pp, tp); PP group: same (dp, tp).
  tp_ = world_->split(coords_.pp_idx * layout_.dp + coords_.dp_idx, r);
  dp_ = world_->split(coords_.pp_idx * layout_.tp + coords_.tp_idx, r);
  pp_ = world_->split(coords_.dp_idx * layout_.tp + coords_.tp_idx, r);
  tp_->set_name("tp");
  dp_->set_name("dp");
  pp_->set_name("pp");
}

int ParallelState::next_rank() const {
  if (is_last_stage()) return -1;
  Coordinates c = coords_;
  c.pp_idx += 1;
  return c.world_rank(layout_);
}

int ParallelState::prev_rank() const {
  if (is_first_stage()) return -1;
  Coordinates c = coords_;
  c.pp_idx -= 1;
  return c.world_rank(layout_);
}

}  // namespace ptuner::dist
