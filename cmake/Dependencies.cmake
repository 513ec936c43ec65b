# Every dependency is a Debian 12 package (see DEVELOPERS.md); CUDA/NCCL are optional.
#
# PTUNER_DEPS_PREFIX: those packages unpacked with `dpkg -x` into one directory instead of
# installed (launch/gpu-check on a machine that reaches no package registry). Every dependency
# but LibTorch and CUDA is then taken from there: it is searched first, Open MPI and HDF5 (whose
# wrapper compilers hold Debian's absolute paths) are named directly, and its headers come
# before LibTorch's (a CUDA LibTorch ships headers of its own fmt).
set(PTUNER_DEPS_PREFIX "" CACHE PATH "Debian packages unpacked with dpkg -x (empty: installed ones)")
if(PTUNER_DEPS_PREFIX)
  set(PTUNER_DEB "${PTUNER_DEPS_PREFIX}/usr")
  set(PTUNER_DEB_LIB "${PTUNER_DEB}/lib/x86_64-linux-gnu")
  list(PREPEND CMAKE_PREFIX_PATH "${PTUNER_DEB}")
  include_directories(BEFORE SYSTEM "${PTUNER_DEB}/include")
  add_library(MPI::MPI_CXX INTERFACE IMPORTED)
  target_include_directories(MPI::MPI_CXX INTERFACE "${PTUNER_DEB_LIB}/openmpi/include")
  # ptuner calls MPI's C API only: no C++ bindings (libmpi_cxx).
  target_compile_definitions(MPI::MPI_CXX INTERFACE OMPI_SKIP_MPICXX=1)
  target_link_libraries(MPI::MPI_CXX INTERFACE "${PTUNER_DEB_LIB}/openmpi/lib/libmpi.so")
  set(HDF5_C_INCLUDE_DIRS "${PTUNER_DEB}/include/hdf5/serial")
  set(HDF5_C_LIBRARIES "${PTUNER_DEB_LIB}/hdf5/serial/libhdf5.so")
  foreach(path "${PTUNER_DEB_LIB}/openmpi/include/mpi.h" "${PTUNER_DEB_LIB}/openmpi/lib/libmpi.so"
               "${HDF5_C_INCLUDE_DIRS}/hdf5.h" "${HDF5_C_LIBRARIES}")
    if(NOT EXISTS "${path}")
      message(FATAL_ERROR "PTUNER_DEPS_PREFIX=${PTUNER_DEPS_PREFIX} lacks ${path} (unpack libopenmpi-dev, libhdf5-dev and their libraries there)")
    endif()
  endforeach()
endif()
# Older CUDA LibTorch configs (Debian's 2.6 among them) find CUDA with CMake's FindCUDA, which
# takes the toolkit from the first nvcc on PATH: a wrapper script such as /usr/local/bin/nvcc
# makes that /usr/local, where neither CUDA's headers nor cudart are, and configuring fails.
# A toolkit named with CUDAToolkit_ROOT (the variable or the environment's) is named to FindCUDA too,
# over what an earlier configure of the build folder cached (the wrong folder, or NOTFOUND).
if(CUDAToolkit_ROOT)
  set(CUDA_TOOLKIT_ROOT_DIR "${CUDAToolkit_ROOT}" CACHE PATH "CUDA toolkit (FindCUDA)" FORCE)
elseif(DEFINED ENV{CUDAToolkit_ROOT})
  set(CUDA_TOOLKIT_ROOT_DIR "$ENV{CUDAToolkit_ROOT}" CACHE PATH "CUDA toolkit (FindCUDA)" FORCE)
endif()
find_package(Torch REQUIRED)
# LibTorch 2.14's ATen and C++ frontend headers stop with "#error C++20 or later compatible
# compiler is required" under C++17: the standard follows the LibTorch unless named (the sources
# build as either; tests/torch-cuda-build compiles the CUDA paths as C++20).
if(PTUNER_CXX_STANDARD)
  if(NOT PTUNER_CXX_STANDARD MATCHES "^(17|20)$")
    message(FATAL_ERROR "PTUNER_CXX_STANDARD=${PTUNER_CXX_STANDARD}: not 17 or 20")
  endif()
  if(Torch_VERSION VERSION_GREATER_EQUAL 2.14 AND PTUNER_CXX_STANDARD LESS 20)
    message(FATAL_ERROR "PTUNER_CXX_STANDARD=${PTUNER_CXX_STANDARD}: LibTorch ${Torch_VERSION} needs C++20 or later")
  endif()
  set(CMAKE_CXX_STANDARD ${PTUNER_CXX_STANDARD})
elseif(Torch_VERSION VERSION_GREATER_EQUAL 2.14)
  set(CMAKE_CXX_STANDARD 20)
endif()
message(STATUS "ptuner: C++${CMAKE_CXX_STANDARD}")
# Some CUDA LibTorch configs (Debian's 2.6 among them) link torch::nvtoolsext to
# CUDA::nvToolsExt, a library CUDA 12.9 dropped: NVTX 3 is header-only (include/nvtx3), and
# ptuner never calls NVTX itself, so the target only has to exist for the link interface.
if(TARGET torch::nvtoolsext AND NOT TARGET CUDA::nvToolsExt)
  add_library(CUDA::nvToolsExt INTERFACE IMPORTED)
  if(CUDAToolkit_INCLUDE_DIRS)
    target_include_directories(CUDA::nvToolsExt INTERFACE ${CUDAToolkit_INCLUDE_DIRS})
  endif()
endif()
# A CUDA LibTorch (c10_cuda): the GPU memory statistics and the fused attention it offers.
set(PTUNER_TORCH_CUDA OFF)
if(TORCH_CUDA_LIBRARIES OR C10_CUDA_LIBRARY)
  set(PTUNER_TORCH_CUDA ON)
endif()
message(STATUS "ptuner: LibTorch ${Torch_VERSION}, CUDA ${PTUNER_TORCH_CUDA}")
if(NOT PTUNER_DEPS_PREFIX)
  find_package(MPI REQUIRED COMPONENTS CXX)
  find_package(HDF5 REQUIRED COMPONENTS C)
endif()
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(tomlplusplus REQUIRED)
find_package(CLI11 REQUIRED)
find_package(ZLIB REQUIRED)
find_package(Threads REQUIRED)

find_path(SENTENCEPIECE_INCLUDE_DIR sentencepiece_processor.h REQUIRED)
find_library(SENTENCEPIECE_LIBRARY sentencepiece REQUIRED)
find_library(SENTENCEPIECE_TRAIN_LIBRARY sentencepiece_train REQUIRED)
# (Our own variable: LibTorch's config may set PROTOBUF_LIBRARY to another copy. The versioned
# name finds a runtime package's library where no -dev package is unpacked.)
find_library(PTUNER_PROTOBUF_LIBRARY NAMES protobuf libprotobuf.so.32 NAMES_PER_DIR REQUIRED)

# LibTorch ships a -D_GLIBCXX_USE_CXX11_ABI flag and include dirs in TORCH_CXX_FLAGS.
add_library(ptuner_torch INTERFACE)
target_link_libraries(ptuner_torch INTERFACE ${TORCH_LIBRARIES})
target_include_directories(ptuner_torch INTERFACE ${TORCH_INCLUDE_DIRS})

# Debian's libsentencepiece exports the protobuf-lite it bundles under the same names as the
# libprotobuf LibTorch uses. ptuner therefore never links sentencepiece: data/SentencePieceLibrary
# dlopen()s it with RTLD_DEEPBIND at run time, and executables keep libprotobuf loaded first.
add_library(ptuner_protobuf_first INTERFACE)
target_link_libraries(ptuner_protobuf_first INTERFACE
  -Wl,--no-as-needed ${PTUNER_PROTOBUF_LIBRARY} -Wl,--as-needed)

# Headers only (the libraries are found above so that a missing package fails at configure time).
add_library(ptuner_sentencepiece INTERFACE)
target_include_directories(ptuner_sentencepiece INTERFACE ${SENTENCEPIECE_INCLUDE_DIR})
target_link_libraries(ptuner_sentencepiece INTERFACE ${CMAKE_DL_LIBS})
# sentencepiece 0.2.1 and later (Debian 14) return abseil's Status, whose header theirs includes
# and whose out-of-line members live in libabsl_status (no protobuf in it); earlier versions
# their own util::Status, reached through dlsym().
file(STRINGS "${SENTENCEPIECE_INCLUDE_DIR}/sentencepiece_processor.h" PTUNER_SENTENCEPIECE_ABSL
     REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]absl/status/status\\.h[>\"]")
if(PTUNER_SENTENCEPIECE_ABSL)
  find_package(absl REQUIRED)
  target_link_libraries(ptuner_sentencepiece INTERFACE absl::status)
  target_compile_definitions(ptuner_sentencepiece INTERFACE PTUNER_SENTENCEPIECE_ABSL_STATUS=1)
  message(STATUS "ptuner: sentencepiece with absl::Status")
endif()

# HDF5 2.x's CMake targets give their users feature macros (HDF5 2.2: _POSIX_C_SOURCE=200809L,
# _GNU_SOURCE, _LARGEFILE_SOURCE, _FILE_OFFSET_BITS=64), and GCC refuses a PCH built without a
# macro the including unit defines ("not used because '_LARGEFILE_SOURCE' is defined": on Debian
# 14 the HDF5 users compiled LibTorch's headers again, 14 units). Every unit defines what HDF5's
# targets define (on 64-bit Linux glibc these change nothing), and _FILE_OFFSET_BITS=64 where
# HDF5 is found without targets, so the shared PCHs serve the HDF5 users too.
set(PTUNER_HDF5_DEFINITIONS _FILE_OFFSET_BITS=64)
foreach(lib IN LISTS HDF5_C_LIBRARIES HDF5_LIBRARIES)
  if(TARGET ${lib})
    get_target_property(defs ${lib} INTERFACE_COMPILE_DEFINITIONS)
    if(defs)
      list(APPEND PTUNER_HDF5_DEFINITIONS ${defs})
    endif()
  endif()
endforeach()
list(REMOVE_DUPLICATES PTUNER_HDF5_DEFINITIONS)
add_compile_definitions(${PTUNER_HDF5_DEFINITIONS})
add_library(ptuner_hdf5 INTERFACE)
target_include_directories(ptuner_hdf5 INTERFACE ${HDF5_C_INCLUDE_DIRS} ${HDF5_INCLUDE_DIRS})
target_link_libraries(ptuner_hdf5 INTERFACE ${HDF5_C_LIBRARIES} ${HDF5_LIBRARIES})

# Optional CUDA + NCCL: compiled in only where both are found.
set(PTUNER_HAVE_NCCL OFF)
if(PTUNER_WITH_NCCL)
  find_package(CUDAToolkit QUIET)
  if(CUDAToolkit_FOUND)
    find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} $ENV{NCCL_HOME}/include)
    find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2
      HINTS ${CUDAToolkit_LIBRARY_DIR} $ENV{NCCL_HOME}/lib)
    if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
      set(PTUNER_HAVE_NCCL ON)
    endif()
  endif()
endif()
message(STATUS "ptuner: NCCL backend ${PTUNER_HAVE_NCCL}")
