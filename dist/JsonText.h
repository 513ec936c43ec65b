#pragma once
// JSON text that is always valid UTF-8. nlohmann's dump() throws type_error 316 on a string
// holding invalid UTF-8 (a data line's raw bytes quoted in a skip reason, a path that is not
// UTF-8, a decoded prediction cut inside a character); here each invalid byte becomes U+FFFD.
// Header-only and free of ranks and tensors, so every layer may use it (as dist/Check.h).
#include <nlohmann/json.hpp>

#include <string>

namespace ptuner {

// indent < 0: one line; otherwise pretty-printed with that many spaces.
inline std::string json_text(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace ptuner
