#pragma once
// PTUNER_CHECK(cond, fmt, args...): throws ptuner::Error with a message that names the thing
// and the value. Header-only and free of ranks and tensors, so every layer may use it.
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace ptuner {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ptuner

#define PTUNER_CHECK(cond, ...)                                   \
  do {                                                            \
    if (!(cond)) throw ::ptuner::Error(::fmt::format(__VA_ARGS__)); \
  } while (0)

#define PTUNER_FAIL(...) throw ::ptuner::Error(::fmt::format(__VA_ARGS__))
