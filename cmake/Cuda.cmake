# Enables CUDA when CudaDetect.cmake chose it, and defines HD_HAVE_CUDA for the code.
set(HD_HAVE_CUDA OFF)
if(HD_WANT_CUDA)
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
  set(CMAKE_CUDA_STANDARD 17)  # CMake 3.25 does not know nvcc 13 speaks C++20
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  set(HD_HAVE_CUDA ON)
  message(STATUS "CUDA ${CUDAToolkit_VERSION} at ${CUDAToolkit_BIN_DIR}, architectures ${CMAKE_CUDA_ARCHITECTURES}")
else()
  message(STATUS "CUDA backend off: building the CPU backend only")
endif()
