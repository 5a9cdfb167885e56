# HD_SANITIZE=address,undefined builds everything with those sanitizers (host code only;
# CI uses this configuration with CUDA off for the CPU tests).
if(HD_SANITIZE)
  add_compile_options($<$<COMPILE_LANGUAGE:C,CXX>:-fsanitize=${HD_SANITIZE}>
                      $<$<COMPILE_LANGUAGE:C,CXX>:-fno-omit-frame-pointer>
                      $<$<COMPILE_LANGUAGE:C,CXX>:-fno-sanitize-recover=all>)
  add_link_options(-fsanitize=${HD_SANITIZE})
endif()
