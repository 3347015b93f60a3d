# sluice_gtest_whole(target LABEL): one ctest entry for a whole GoogleTest program.
#
# gtest_discover_tests gives every test its own process. For table-driven programs that is the
# wrong trade: the fixture table through BPF_PROG_TEST_RUN verifies and loads the XDP program once
# per process (about 3 s on a 2-core machine, against milliseconds per row), the DPDK pipeline
# table starts an EAL per process, and a sanitizer build pays its start-up per process too. One
# process runs the whole table in seconds; a failing row is still named in the output
# (`ctest --output-on-failure`), and `--gtest_filter` still picks rows when run by hand.
function(sluice_gtest_whole target label)
  add_test(NAME ${target} COMMAND ${target})
  set_tests_properties(${target} PROPERTIES LABELS "${label}")
endfunction()
