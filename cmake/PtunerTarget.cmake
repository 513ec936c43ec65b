# ptuner_library(NAME SOURCES ... DEPS ... [NO_TORCH_PCH]): one static library per source folder,
# warnings on, the repository root on the include path (#include "dist/Check.h").
function(ptuner_library name)
  cmake_parse_arguments(ARG "NO_TORCH_PCH" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  ptuner_warnings(${name})
  ptuner_unity(${name})
  if(NOT ARG_NO_TORCH_PCH)
    ptuner_precompile_torch(${name})
  endif()
endfunction()

# Unity build: up to 8 sources of a target compiled as one translation unit. Each translation unit
# pays ~4 s to load the LibTorch PCH and instantiates and emits the same inline LibTorch code again
# (most of its 15 s); batches pay that once per 8 files. Names in anonymous namespaces must then
# be unique within a target (a clash is a compile error naming both; rename one, or give the file
# SKIP_UNITY_BUILD_INCLUSION).
function(ptuner_unity target)
  set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
endfunction()

# LibTorch's headers dominate compile time (~570 MB precompiled). They are precompiled once,
# by ptuner_pch, and every target that uses them reuses that one PCH (GCC accepts a PCH only
# under the same optimisation flags: the tests, built at -O2, share a second one).
function(ptuner_make_pch name)
  add_library(${name} STATIC ${PROJECT_SOURCE_DIR}/cmake/pch.cpp)
  target_link_libraries(${name} PUBLIC ptuner_torch)
  ptuner_warnings(${name})
  target_precompile_headers(${name} PRIVATE <torch/torch.h>)
endfunction()

function(ptuner_precompile_torch target)
  if(NOT TARGET ptuner_pch)
    ptuner_make_pch(ptuner_pch)
  endif()
  target_precompile_headers(${target} REUSE_FROM ptuner_pch)
endfunction()

# Test code: -O2 (it compiles faster than -O3 and runs the libraries' -O3 code), with its own
# shared PCH.
function(ptuner_test_target target)
  if(NOT TARGET ptuner_pch_tests)
    ptuner_make_pch(ptuner_pch_tests)
    target_compile_options(ptuner_pch_tests PRIVATE -O2)
  endif()
  target_compile_options(${target} PRIVATE -O2)
  target_precompile_headers(${target} REUSE_FROM ptuner_pch_tests)
  ptuner_unity(${target})
endfunction()

function(ptuner_warnings target)
  # LibTorch's headers are noisy under -Wextra; they are included as system headers.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
endfunction()
