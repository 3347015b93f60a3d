# The control plane's data-plane clients (owned by h3-dpdk): the DataplaneClient interface and
# the sluice-dp control-socket client. Included by control/CMakeLists.txt and by
# dataplane/CMakeLists.txt (which comes first, so the library and its tests build even
# without control/); whichever comes first defines the target, and sluicectl (which has
# cmd_dataplane.cc) is linked with it once it exists.
if(NOT TARGET sluice_dataplane_client)
  find_package(nlohmann_json 3 REQUIRED)
  add_library(sluice_dataplane_client STATIC
    ${CMAKE_CURRENT_LIST_DIR}/dataplane_client.cc
    ${CMAKE_CURRENT_LIST_DIR}/dpdk_client.cc)
  target_include_directories(sluice_dataplane_client PUBLIC ${CMAKE_CURRENT_LIST_DIR}
                             PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../dataplane)
  target_link_libraries(sluice_dataplane_client PUBLIC nlohmann_json::nlohmann_json sluice_dp_stats)
  sluice_warnings(sluice_dataplane_client)
endif()
if(TARGET sluicectl)
  target_link_libraries(sluicectl PRIVATE sluice_dataplane_client)
endif()
