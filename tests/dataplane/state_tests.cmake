# Flow table, pacer and reputation lookup: plain C++, no DPDK.
add_executable(dataplane_state_test flow_table_test.cc pacer_test.cc rep_table_test.cc)
target_link_libraries(dataplane_state_test PRIVATE sluice_dp_state GTest::gtest_main)
sluice_warnings(dataplane_state_test)
gtest_discover_tests(dataplane_state_test PROPERTIES LABELS "unit")
