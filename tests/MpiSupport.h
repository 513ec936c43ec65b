#pragma once
// Helpers for the multi-rank suites (run under mpirun by ctest).
#include <cstdlib>
#include <memory>
#include <string>

#include "dist/MpiCommunicator.h"
#include "dist/ParallelState.h"

namespace ptuner::testing {

inline std::shared_ptr<dist::MpiCommunicator> world() { return dist::MpiCommunicator::world(); }
inline std::shared_ptr<dist::MpiCommunicator> self() { return std::make_shared<dist::MpiCommunicator>(MPI_COMM_SELF); }

// TP and PP sizes for this run (PTUNER_TEST_TP, PTUNER_TEST_PP, default 1); DP fills the world.
inline dist::Layout test_layout() {
  const char* tp = std::getenv("PTUNER_TEST_TP");
  const char* pp = std::getenv("PTUNER_TEST_PP");
  dist::Layout l;
  l.tp = tp ? std::atoi(tp) : 1;
  l.pp = pp ? std::atoi(pp) : 1;
  l.dp = world()->size() / (l.tp * l.pp);
  return l;
}

// A directory every rank sees: made by world rank 0, its path broadcast.
std::string shared_dir(const std::string& name);

// max |a − b| / max |b|
inline double rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  auto denom = b.abs().max().item<double>();
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>() / (denom > 0 ? denom : 1.0);
}

}  // namespace ptuner::testing
