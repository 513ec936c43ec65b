// GoogleTest main for every ptuner suite: MPI is initialised once (singleton mode without
// mpirun), so the same executables also run multi-rank under mpirun.
#include <gtest/gtest.h>

#include "dist/MpiEnvironment.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ptuner::dist::MpiEnvironment mpi(&argc, &argv);
  return RUN_ALL_TESTS();
}
