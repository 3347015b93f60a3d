# Precompiled third-party headers, per target.
#
# Parsing nlohmann/json, Boost.Program_options, GoogleTest and fmt costs 1 to 2 s per
# translation unit each (clang or GCC, any optimisation level): for a short control-plane file
# that is half of its compile, and the test run builds the tree three times on two cores. Every
# target with at least eight C++ sources gets one precompiled header holding those of the four
# it links (directly or through its libraries), so each header is parsed once per target.
# Below eight sources, building and loading the header cost about what it saves (measured on
# the sanitizer build with clang: sluicectl's 24 sources took 130 CPU-seconds instead of 190,
# while four-source test programs took 10 s longer).

# The headers precompiled are third-party ones only: a change to the project's own headers
# never rebuilds a precompiled header. SLUICE_PCH=OFF turns it off (for a compiler or a cache
# that does not handle precompiled headers).
include(SluiceTargets)

option(SLUICE_PCH "Precompile heavy third-party headers per target" ON)

# Call once, after every target is defined.
function(sluice_precompile_all)
  if(NOT SLUICE_PCH)
    return()
  endif()
  sluice_targets_in(${PROJECT_SOURCE_DIR} targets)
  foreach(t ${targets})
    get_target_property(type ${t} TYPE)
    if(NOT type MATCHES "^(EXECUTABLE|STATIC_LIBRARY|SHARED_LIBRARY|OBJECT_LIBRARY)$")
      continue()
    endif()
    get_target_property(sources ${t} SOURCES)
    set(cxx 0)
    foreach(s ${sources})
      if(s MATCHES "\\.(cc|cpp)$")
        math(EXPR cxx "${cxx} + 1")
      endif()
    endforeach()
    if(cxx LESS 8)
      continue()
    endif()
    sluice_link_closure(${t} closure)
    set(headers "")
    if("GTest::gtest" IN_LIST closure OR "GTest::gtest_main" IN_LIST closure)
      list(APPEND headers <gtest/gtest.h>)
    endif()
    if("nlohmann_json::nlohmann_json" IN_LIST closure)
      list(APPEND headers <nlohmann/json.hpp>)
    endif()
    if("Boost::program_options" IN_LIST closure)
      list(APPEND headers <boost/program_options.hpp>)
    endif()
    if("fmt::fmt" IN_LIST closure)
      list(APPEND headers <fmt/format.h>)
    endif()
    if(headers)
      # C sources in the same target (BPF loaders, the packet core's C tests) stay without.
      # $<ANGLE-R> is the header's closing '>', which would end the expression.
      list(TRANSFORM headers REPLACE ">$" "$<ANGLE-R>")
      list(TRANSFORM headers PREPEND "$<$<COMPILE_LANGUAGE:CXX>:")
      list(TRANSFORM headers APPEND ">")
      target_precompile_headers(${t} PRIVATE ${headers})
    endif()
  endforeach()
endfunction()
