// The prompt checkpoint loader (HDF5) on arbitrary bytes: a Checkpoint or an Error.
#include <cstdint>

#include "dist/Check.h"
#include "tests/fuzz/FuzzSupport.h"
#include "train/Checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = ptuner::fuzz::input_file(data, size, ".h5");
  try {
    (void)ptuner::train::Checkpoint::load(path);
  } catch (const ptuner::Error&) {
  }
  return 0;
}
