// The safetensors reader (header, offsets, dtypes) on arbitrary bytes: a SafetensorsFile or an
// Error, and every tensor it lists loads.
#include <cstdint>

#include "dist/Check.h"
#include "model_parallel/SafetensorsFile.h"
#include "tests/fuzz/FuzzSupport.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = ptuner::fuzz::input_file(data, size, ".safetensors");
  try {
    ptuner::mp::SafetensorsFile f(path);
    for (const auto& name : f.names()) (void)f.load(name);
  } catch (const ptuner::Error&) {
  }
  return 0;
}
