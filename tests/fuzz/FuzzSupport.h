#pragma once
// Shared by the libFuzzer targets: the input as a file (the parsers under test read files), in
// the fuzzer's own temporary directory, rewritten for each input.
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace ptuner::fuzz {

inline std::string input_file(const uint8_t* data, size_t size, const char* suffix) {
  static const std::string dir = [] {
    std::string d = "/tmp/ptuner-fuzz-" + std::to_string(::getpid());
    ::mkdir(d.c_str(), 0700);
    return d;
  }();
  const std::string path = dir + "/input" + suffix;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f) {
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  return path;
}

// Log messages (a skipped record's warning) are still formatted but go nowhere: writing them to
// the terminal made the task-reader target several times slower.
inline const bool kLogsDiscarded = [] {
  auto logger = std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>());
  logger->set_level(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  return true;
}();

}  // namespace ptuner::fuzz
