# Third-party libraries, all from Debian packages (scripts/setup installs them).

# hd_library(name SOURCES ... PUBLIC_DEPS ... PRIVATE_DEPS ...): one layer's library with its
# own include/ folder.
function(hd_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                     PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  hd_set_warnings(${name})
endfunction()

if(HD_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
set(BLA_VENDOR OpenBLAS)
find_package(BLAS REQUIRED)
find_path(HD_CBLAS_INCLUDE_DIR cblas.h PATH_SUFFIXES x86_64-linux-gnu x86_64-linux-gnu/openblas-pthread openblas REQUIRED)
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)
# kissfft (BSD-3; FFTW is GPL) for the CPU backend's long convolution. Found without
# pkg-config so that a copy unpacked into a private prefix works too (scripts/gpu-run).
find_path(HD_KISSFFT_INCLUDE_DIR kiss_fftr.h PATH_SUFFIXES kissfft REQUIRED)
find_library(HD_KISSFFT_LIBRARY kissfft-float REQUIRED)
add_library(hd_kissfft INTERFACE)
target_include_directories(hd_kissfft INTERFACE ${HD_KISSFFT_INCLUDE_DIR})
target_link_libraries(hd_kissfft INTERFACE ${HD_KISSFFT_LIBRARY})
target_compile_definitions(hd_kissfft INTERFACE kiss_fft_scalar=float KISS_FFT_SHARED)
find_package(OpenMP REQUIRED)
# Byte-level BPE tokenizers: the models' split regexes need Unicode properties (PCRE2, found
# without pkg-config so a copy unpacked into a private prefix works, as for kissfft) and NFC (ICU).
find_path(HD_PCRE2_INCLUDE_DIR pcre2.h REQUIRED)
find_library(HD_PCRE2_LIBRARY pcre2-8 REQUIRED)
add_library(hd_pcre2 INTERFACE)
target_include_directories(hd_pcre2 INTERFACE ${HD_PCRE2_INCLUDE_DIR})
target_link_libraries(hd_pcre2 INTERFACE ${HD_PCRE2_LIBRARY})
find_package(ICU REQUIRED COMPONENTS uc)
# xxHash (BSD-2): checksums of multi-gigabyte saved states at memory speed (found like PCRE2).
find_path(HD_XXHASH_INCLUDE_DIR xxhash.h REQUIRED)
find_library(HD_XXHASH_LIBRARY xxhash REQUIRED)
add_library(hd_xxhash INTERFACE)
target_include_directories(hd_xxhash INTERFACE ${HD_XXHASH_INCLUDE_DIR})
target_link_libraries(hd_xxhash INTERFACE ${HD_XXHASH_LIBRARY})
if(HD_ENGINE_ONLY)
  return()  # the GPU machine builds kernels, engine, their tests and benchmarks only
endif()
find_package(SQLite3 REQUIRED)
find_package(faiss REQUIRED)
# SHA-256 for content identity (libcrypto only).
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
pkg_check_modules(POPPLER_CPP REQUIRED IMPORTED_TARGET poppler-cpp)
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)
pkg_check_modules(LIBXML2 REQUIRED IMPORTED_TARGET libxml-2.0)
pkg_check_modules(GUMBO REQUIRED IMPORTED_TARGET gumbo)
pkg_check_modules(CMARK REQUIRED IMPORTED_TARGET libcmark)
pkg_check_modules(UCHARDET REQUIRED IMPORTED_TARGET uchardet)
if(HD_BUILD_UI)
  find_package(Qt6 REQUIRED COMPONENTS Widgets Pdf Test)
endif()

