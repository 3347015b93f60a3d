# ASan + UBSan for the whole test build (SLUICE_SANITIZE) and for the libFuzzer build
# (SLUICE_BUILD_FUZZ with clang: scripts/fuzz, and scripts/test's sanitizer build, which is both).
# UBSan is made fatal so a report fails the test.
include(SluiceTargets)

if(SLUICE_SANITIZE OR (SLUICE_BUILD_FUZZ AND CMAKE_CXX_COMPILER_ID MATCHES "Clang"))
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# Coverage instrumentation (-fsanitize=fuzzer-no-link) goes on every library a fuzz target links
# (the policy parser, the reputation parsers, sluiced's library) and nowhere else, so the fuzzer
# sees and checks their code, while the test programs and the rest of the product, built in the
# same tree by scripts/test, run without its callbacks on every branch and comparison (they only
# slowed them and their build). The fuzz targets instrument their own sources (tests/fuzz).
# Call once, after every target is defined.
function(sluice_fuzz_instrument_all)
  if(NOT SLUICE_BUILD_FUZZ OR NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang"
     OR NOT TARGET sluice_fuzz_targets)
    return()
  endif()
  get_target_property(fuzzers sluice_fuzz_targets MANUALLY_ADDED_DEPENDENCIES)
  set(libs "")
  foreach(f ${fuzzers})
    sluice_link_closure(${f} closure)
    list(APPEND libs ${closure})
  endforeach()
  list(REMOVE_DUPLICATES libs)
  foreach(l ${libs})
    if(NOT TARGET ${l} OR l IN_LIST fuzzers)
      continue()
    endif()
    get_target_property(type ${l} TYPE)
    get_target_property(imported ${l} IMPORTED)
    if(imported OR NOT type MATCHES "^(STATIC_LIBRARY|OBJECT_LIBRARY|SHARED_LIBRARY)$")
      continue()
    endif()
    target_compile_options(${l} PRIVATE -fsanitize=fuzzer-no-link)
  endforeach()
endfunction()
