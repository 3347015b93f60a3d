# The sluice-dp worker on net_ring ports; EAL runs as root here, hence "privileged".
if(TARGET sluice_dp_lib)
  add_library(sluice_dp_testenv STATIC frames.cc dpdk_env.cc)
  target_include_directories(sluice_dp_testenv PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(sluice_dp_testenv PUBLIC sluice_dp_lib sluice_testing)
  sluice_warnings(sluice_dp_testenv)

  add_executable(dataplane_dpdk_test dp_pipeline_test.cc)
  target_link_libraries(dataplane_dpdk_test PRIVATE sluice_dp_testenv GTest::gtest_main)
  sluice_warnings(dataplane_dpdk_test)
  gtest_discover_tests(dataplane_dpdk_test PROPERTIES LABELS "privileged" DISCOVERY_TIMEOUT 60)
endif()

if(TARGET sluice_dp_replay)
  add_executable(dataplane_replay_test replay_test.cc)
  target_link_libraries(dataplane_replay_test PRIVATE sluice_dp_replay sluice_dp_testenv
                        ${PCAP_LINK_LIBRARIES} GTest::gtest_main)
  target_compile_definitions(dataplane_replay_test PRIVATE
                             SLUICE_DP_GOLDEN_DIR="${CMAKE_CURRENT_SOURCE_DIR}/golden")
  sluice_warnings(dataplane_replay_test)
  gtest_discover_tests(dataplane_replay_test PROPERTIES LABELS "unit")
endif()

if(TARGET sluice_dp_lib AND TARGET sluice_dataplane_client)
  add_executable(dataplane_control_test control_test.cc)
  target_link_libraries(dataplane_control_test PRIVATE sluice_dp_testenv sluice_dataplane_client
                        GTest::gtest_main)
  if(TARGET sluicectl)
    target_compile_definitions(dataplane_control_test PRIVATE
                               SLUICECTL_BIN="$<TARGET_FILE:sluicectl>")
    add_dependencies(dataplane_control_test sluicectl)
  endif()
  sluice_warnings(dataplane_control_test)
  gtest_discover_tests(dataplane_control_test PROPERTIES LABELS "privileged" DISCOVERY_TIMEOUT 60)
endif()

# The packet-core fixture table through the DPDK pipeline (fixtures and the native runner are
# h1's tests/core library).
if(TARGET sluice_dp_lib AND TARGET sluice_core_fixtures)
  add_executable(dataplane_fixture_test fixture_test.cc)
  target_link_libraries(dataplane_fixture_test PRIVATE sluice_dp_testenv sluice_core_fixtures
                        GTest::gtest_main)
  sluice_warnings(dataplane_fixture_test)
  gtest_discover_tests(dataplane_fixture_test PROPERTIES LABELS "privileged" DISCOVERY_TIMEOUT 60)
endif()

# The sluice-dp binary end to end on veth pairs (network namespaces, net_af_packet, swaks ->
# smtp-sink, sluicectl). Root only; exit code 77 = skipped.
if(TARGET sluice-dp AND TARGET sluicectl)
  add_test(NAME dataplane_sluice_dp_veth
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/sluice_dp_veth_test.sh $<TARGET_FILE:sluice-dp>
                   $<TARGET_FILE:sluicectl>)
  set_tests_properties(dataplane_sluice_dp_veth PROPERTIES LABELS "privileged" SKIP_RETURN_CODE 77
                       TIMEOUT 180)
endif()

# The `sluice-dp replay` command line on the checked-in golden capture: same output bytes.
if(TARGET sluice-dp)
  set(_golden ${CMAKE_CURRENT_SOURCE_DIR}/golden)
  add_test(NAME dataplane_replay_cli
           COMMAND bash -c "out=$(mktemp /tmp/sluice_replay_cli.XXXXXX) && trap 'rm -f $out' EXIT && \"$0\" replay --table ${_golden}/replay_table.snap --policy ${_golden}/policy.ini --inside-net 198.18.0.0/24 2001:2::/64 --input ${_golden}/replay_actions.in.pcap --output $out && cmp $out ${_golden}/replay_actions.out.pcap"
                   $<TARGET_FILE:sluice-dp>)
  set_tests_properties(dataplane_replay_cli PROPERTIES LABELS "unit")
endif()
