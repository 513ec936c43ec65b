// GoogleTest main for every ptuner suite. The multi-rank executables (built with
// PTUNER_TEST_MPI=1, run under mpirun) initialise MPI here; the single-rank ones start it only
// when a test first asks for a communicator (ptuner::testing::ensure_mpi), so suites without
// one never pay for MPI_Init.
#include <gtest/gtest.h>

#if PTUNER_TEST_MPI
#include "dist/MpiCommunicator.h"
#include "dist/MpiEnvironment.h"
#endif

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
#if PTUNER_TEST_MPI
  ptuner::dist::MpiEnvironment mpi(&argc, &argv);
  // Under PTUNER_MPI_STRICT a hang is what the run looks for: the watchdog ends it with the call
  // and the ranks it waited for, well before ctest's timeout would.
  if (ptuner::dist::MpiCommunicator::strict()) ptuner::dist::MpiCommunicator::set_timeout(240);
#endif
  return RUN_ALL_TESTS();
}
