# Compile through ccache when it is installed (CI and repeat builds reuse objects).
find_program(HD_CCACHE ccache)
if(HD_CCACHE)
  foreach(lang C CXX CUDA)
    set(CMAKE_${lang}_COMPILER_LAUNCHER "${HD_CCACHE}")
  endforeach()
endif()
