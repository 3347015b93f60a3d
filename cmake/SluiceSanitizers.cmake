# ASan + UBSan for the whole test build. UBSan is made fatal so a report fails the test.
include(SluiceTargets)

if(SLUICE_SANITIZE)
  set(_san -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_compile_options(${_san})
  add_link_options(-fsanitize=address,undefined)
endif()

# The libFuzzer build (scripts/fuzz, and scripts/test's sanitizer build): the sanitizers
# everywhere, and coverage instrumentation (-fsanitize=fuzzer-no-link) on every library a fuzz
# target links (the policy parser, the reputation parsers, sluiced's library; see
# sluice_fuzz_instrument_all below), so the fuzzer sees and checks their code, not only the
# target's own file. The fuzz targets instrument their own sources (tests/fuzz).
if(SLUICE_BUILD_FUZZ AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# Call once, after every target is defined. Only the fuzz targets' libraries get coverage
# instrumentation: the test programs and the rest of the product, built in the same tree by
# scripts/test, run without its callbacks on every branch and comparison, which only slowed
# them and their build.
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
