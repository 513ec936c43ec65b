// The run config reader: TOML text, then (after a line "---") `--set` overrides, one per line.
// Any input must give a RunConfig or a ptuner::Error, never a crash.
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "dist/Check.h"
#include "train/RunConfig.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto split = input.find("\n---\n");
  const std::string text = input.substr(0, split);
  std::vector<std::string> sets;
  if (split != std::string::npos) {
    std::stringstream ss(input.substr(split + 5));
    for (std::string line; std::getline(ss, line);) sets.push_back(line);
  }
  try {
    auto c = ptuner::train::RunConfig::from_string(text, "fuzz.toml", sets);
    (void)ptuner::train::RunConfig::from_string(c.toml, "fuzz-again.toml");  // its own TOML reads back
  } catch (const ptuner::Error&) {
  }
  return 0;
}
