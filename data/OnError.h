#pragma once
// What a reader does with a malformed record: throw naming "path:line: reason" (Fail), or
// count it, keep the reason, log a warning and go on (Skip). A run-config choice.

namespace ptuner::data {

enum class OnError { Fail, Skip };

}  // namespace ptuner::data
