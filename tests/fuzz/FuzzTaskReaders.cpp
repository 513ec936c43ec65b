// Every task reader (SuperGLUE JSONL, MRQA, GLUE TSV, plain JSONL) on arbitrary file contents,
// skipping malformed records: records or Errors, never a crash. The first byte picks the task.
#include <cstdint>

#include "data/Task.h"
#include "data/TaskReader.h"
#include "dist/Check.h"
#include "tests/fuzz/FuzzSupport.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& specs = ptuner::data::task_specs();
  const auto& spec = specs[data[0] % specs.size()];
  const auto path = ptuner::fuzz::input_file(data + 1, size - 1, ".data");
  for (const auto on_error : {ptuner::data::OnError::Skip, ptuner::data::OnError::Fail}) {
    try {
      auto reader = ptuner::data::TaskReader::open(spec.name, path, on_error, false, true);
      ptuner::data::TextToTextExample ex;
      for (int n = 0; n < 10000 && reader->next(ex); ++n) {
      }
    } catch (const ptuner::Error&) {
    }
  }
  return 0;
}
