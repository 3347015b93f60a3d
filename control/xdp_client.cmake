# The XDP data plane's client for sluicectl (owned by h4-xdp): `--dataplane xdp:NAME`. An OBJECT
# library, so its static registration of the "xdp" scheme is always linked in.
if(TARGET sluice_xdp_loader AND TARGET sluice_dataplane_client AND TARGET sluice_reputation
   AND TARGET sluicectl)
  add_library(sluice_xdp_client OBJECT ${CMAKE_CURRENT_LIST_DIR}/xdp_client.cc)
  target_include_directories(sluice_xdp_client PUBLIC ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(sluice_xdp_client PUBLIC sluice_xdp_loader sluice_dataplane_client)
  sluice_warnings(sluice_xdp_client)
  target_link_libraries(sluicectl PRIVATE sluice_xdp_client)
endif()
