# ptuner_library(NAME SOURCES ... DEPS ...): one static library per source folder,
# warnings on, the repository root on the include path (#include "dist/Check.h").
function(ptuner_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  ptuner_warnings(${name})
  ptuner_precompile_torch(${name})
endfunction()

# LibTorch's headers dominate compile time: parse them once per target.
function(ptuner_precompile_torch target)
  target_precompile_headers(${target} PRIVATE <torch/torch.h>)
endfunction()

function(ptuner_warnings target)
  # LibTorch's headers are noisy under -Wextra; they are included as system headers.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
endfunction()
