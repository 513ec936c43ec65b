#pragma once
// Communicators for the suites: the multi-rank ones (run under mpirun by ctest) and the
// single-rank ones that need MPI_COMM_SELF.
#include <cstdlib>
#include <memory>
#include <string>

#include "dist/MpiCommunicator.h"
#include "dist/ParallelState.h"
#include "tests/TestSupport.h"

namespace ptuner::testing {

// MPI_COMM_WORLD and MPI_COMM_SELF, initialising MPI first where main did not.
inline std::shared_ptr<dist::MpiCommunicator> world() {
  ensure_mpi();
  return dist::MpiCommunicator::world();
}
inline std::shared_ptr<dist::MpiCommunicator> self() {
  ensure_mpi();
  return std::make_shared<dist::MpiCommunicator>(MPI_COMM_SELF);
}

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
