# sluice-dp itself: DPDK (pkg-config libdpdk, as SYSTEM includes so its headers' warnings do
# not trip -Werror), libpcap for replay, nlohmann-json for the control socket.
pkg_check_modules(DPDK QUIET libdpdk)
pkg_check_modules(PCAP QUIET libpcap)
find_package(nlohmann_json 3 QUIET)
if(NOT (DPDK_FOUND AND PCAP_FOUND AND nlohmann_json_FOUND AND TARGET sluice_dp_pipeline
        AND TARGET sluice_reputation))
  message(STATUS "sluice-dp: not built (needs libdpdk, libpcap, nlohmann-json, the packet core, sluice_reputation)")
  return()
endif()

add_library(sluice_dpdk INTERFACE)
target_include_directories(sluice_dpdk SYSTEM INTERFACE ${DPDK_INCLUDE_DIRS})
target_compile_options(sluice_dpdk INTERFACE ${DPDK_CFLAGS_OTHER})
target_link_libraries(sluice_dpdk INTERFACE ${DPDK_LINK_LIBRARIES} rte_net_ring)

# The control framing header, shared with the client library in control/.
add_library(sluice_dp_proto INTERFACE)
target_include_directories(sluice_dp_proto INTERFACE ${CMAKE_CURRENT_SOURCE_DIR})

add_library(sluice_dp_replay STATIC replay.cc)
target_link_libraries(sluice_dp_replay PUBLIC sluice_dp_pipeline PRIVATE ${PCAP_LINK_LIBRARIES}
                      Boost::program_options)
target_include_directories(sluice_dp_replay SYSTEM PRIVATE ${PCAP_INCLUDE_DIRS})
target_compile_definitions(sluice_dp_replay PRIVATE SLUICE_VERSION="${PROJECT_VERSION}")
sluice_warnings(sluice_dp_replay)

add_library(sluice_dp_lib STATIC dp_options.cc dp_published.cc dp_worker.cc dp_ports.cc
                                 dp_control.cc dp_telemetry.cc control_server.cc)
target_link_libraries(sluice_dp_lib PUBLIC sluice_dp_pipeline sluice_dpdk sluice_dp_proto sluice_dp_stats
                      nlohmann_json::nlohmann_json Boost::program_options Threads::Threads)
sluice_warnings(sluice_dp_lib)

add_executable(sluice-dp dp_main.cc)
target_link_libraries(sluice-dp PRIVATE sluice_dp_lib sluice_dp_replay)
target_compile_definitions(sluice-dp PRIVATE SLUICE_VERSION="${PROJECT_VERSION}")
sluice_warnings(sluice-dp)
