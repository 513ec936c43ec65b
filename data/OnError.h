#pragma once
// What a reader does with a malformed record: throw naming "path:line: reason" (Fail), or
// count it, keep the reason, log a warning and go on (Skip). A run-config choice.

#include <string>

namespace ptuner::data {

enum class OnError { Fail, Skip };

// data.on_error's value ("fail" | "skip", checked by the config) as a policy.
inline OnError on_error_named(const std::string& name) { return name == "skip" ? OnError::Skip : OnError::Fail; }

}  // namespace ptuner::data
