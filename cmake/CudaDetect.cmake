# Decide before project() whether to build the CUDA backend.
#   HD_CUDA=AUTO (default): on when nvcc is found on PATH or in /usr/local/cuda.
#   HD_CUDA=ON: required; configuring fails without nvcc.   HD_CUDA=OFF: CPU backend only.
set(HD_CUDA "AUTO" CACHE STRING "Build the CUDA backend: AUTO, ON or OFF")
set_property(CACHE HD_CUDA PROPERTY STRINGS AUTO ON OFF)

set(HD_WANT_CUDA OFF)
if(NOT HD_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER)
    find_program(HD_NVCC nvcc HINTS ENV CUDA_HOME PATHS /usr/local/cuda/bin NO_CACHE)
    if(HD_NVCC)
      set(CMAKE_CUDA_COMPILER "${HD_NVCC}" CACHE FILEPATH "CUDA compiler")
    endif()
  endif()
  if(CMAKE_CUDA_COMPILER)
    set(HD_WANT_CUDA ON)
  elseif(HD_CUDA STREQUAL "ON")
    message(FATAL_ERROR "HD_CUDA=ON but no nvcc was found (looked on PATH, $CUDA_HOME/bin, /usr/local/cuda/bin)")
  endif()
endif()

# sm_80 and sm_90a machine code (90a: the Hopper-only wgmma instructions), plus compute_90
# PTX so newer GPUs can JIT the portable kernels.
if(HD_WANT_CUDA AND NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES "80-real;90a-real;90-virtual" CACHE STRING "CUDA architectures")
endif()
