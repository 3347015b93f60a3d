# ASan + UBSan for the whole test build. UBSan is made fatal so a report fails the test.
if(SLUICE_SANITIZE)
  set(_san -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_compile_options(${_san})
  add_link_options(-fsanitize=address,undefined)
endif()

# The libFuzzer build (scripts/fuzz): every library a fuzz target links (the policy parser, the
# reputation parsers) gets coverage instrumentation and the sanitizers too, so the fuzzer sees
# and checks their code, not only the target's own file.
if(SLUICE_BUILD_FUZZ AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
