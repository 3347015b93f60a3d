# Installation and the Debian package (docs/packaging.md).
#
#   cmake --install BUILD                     # into CMAKE_INSTALL_PREFIX (and /etc/sluice)
#   cmake --build BUILD --target package      # BUILD/sluice_VERSION_ARCH.deb (CPack)
#
# What goes where (the package's prefix is /usr):
#   sbin/sluice-dp, sbin/sluice-xdp, sbin/sluiced   the data planes and the daemon (root's)
#   bin/sluicectl                                   the operators' CLI
#   lib/sluice/bpf/sluice_xdp.bpf.o                 the XDP object sluice-xdp embeds (its
#                                                   skeleton), for inspection: bpftool, veristat
#   /lib/systemd/system/                            sluice-dp@, sluice-xdp@, sluiced.service
#   /etc/sluice/                                    sources.ini, local.list, policy.ini,
#                                                   sluiced.ini (conffiles)
# sluiced, its unit and sluiced.ini only when the tree has the sluiced target.
#   share/doc/sluice/                               docs/*.md, README.md, examples/
#   share/man/man{1,8}/                             one page per command, from its --help
#   share/bash-completion/completions/sluicectl     from sluicectl's --help, per group
# Included at the end of the top-level CMakeLists.txt, so every product target exists.
include_guard(GLOBAL)

set(_pkg ${PROJECT_SOURCE_DIR}/scripts/packaging)
set(SLUICE_BPF_INSTALL_DIR lib/sluice/bpf)
set(SLUICE_PACKAGE_MAINTAINER "sluice maintainers <maintainers@users.noreply.h-seed-5433fe19.example>"
    CACHE STRING "the Debian package's Maintainer field")

# ---- programs ---------------------------------------------------------------------------------
# sluicectl's own rule is in control/sluicectl (bin); sluiced's in control/sluiced (sbin).
install(TARGETS sluice-dp sluice-xdp RUNTIME DESTINATION sbin)
# bpf/CMakeLists.txt: sluice_bpf_skeleton(sluice_xdp ...) builds it there (target sluice_xdp_bpf).
install(FILES ${PROJECT_BINARY_DIR}/bpf/sluice_xdp.bpf.o DESTINATION ${SLUICE_BPF_INSTALL_DIR})

set(SLUICE_PRODUCTS sluice-dp sluice-xdp sluicectl)
if(TARGET sluiced)
  list(APPEND SLUICE_PRODUCTS sluiced)
endif()

# ---- systemd units, configuration, docs ---------------------------------------------------------
pkg_get_variable(SLUICE_SYSTEMD_UNIT_DIR systemd systemdsystemunitdir)
if(NOT SLUICE_SYSTEMD_UNIT_DIR)
  set(SLUICE_SYSTEMD_UNIT_DIR /lib/systemd/system)
endif()
install(FILES ${_pkg}/systemd/sluice-dp@.service ${_pkg}/systemd/sluice-xdp@.service
        DESTINATION ${SLUICE_SYSTEMD_UNIT_DIR})
install(FILES ${_pkg}/etc/sources.ini ${_pkg}/etc/local.list ${_pkg}/etc/policy.ini
        DESTINATION /etc/sluice)
# sluiced's unit and configuration come with sluiced (a unit for a program the package lacks
# would fail at start).
set(_conffiles ${_pkg}/debian/conffiles)
if(TARGET sluiced)
  install(FILES ${_pkg}/systemd/sluiced.service DESTINATION ${SLUICE_SYSTEMD_UNIT_DIR})
  install(FILES ${_pkg}/etc/sluiced.ini DESTINATION /etc/sluice)
  file(READ ${_pkg}/debian/conffiles _list)
  file(WRITE ${PROJECT_BINARY_DIR}/packaging/conffiles "${_list}/etc/sluice/sluiced.ini\n")
  set(_conffiles ${PROJECT_BINARY_DIR}/packaging/conffiles)
endif()

file(GLOB SLUICE_DOCS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${SLUICE_DOCS} ${PROJECT_SOURCE_DIR}/README.md ${_pkg}/debian/copyright
        DESTINATION share/doc/sluice)
install(FILES ${_pkg}/etc/sluice-dp-example.conf ${_pkg}/etc/sluice-xdp-example.conf
        DESTINATION share/doc/sluice/examples)

# Debian's changelog, compressed as policy wants; dated by the last commit, so rebuilding the
# same tree makes the same file.
execute_process(COMMAND git -C ${PROJECT_SOURCE_DIR} log -1 --format=%cD
                OUTPUT_VARIABLE SLUICE_DEB_DATE OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT SLUICE_DEB_DATE)
  set(SLUICE_DEB_DATE "Thu, 01 Jan 1970 00:00:00 +0000")
endif()
set(SLUICE_DEB_VERSION ${PROJECT_VERSION}-1)
configure_file(${_pkg}/debian/changelog.in ${PROJECT_BINARY_DIR}/packaging/changelog.Debian @ONLY)

# ---- generated: man pages, bash completion ----------------------------------------------------
find_program(SLUICE_HELP2MAN help2man)
find_program(SLUICE_GZIP gzip REQUIRED)
find_package(Python3 REQUIRED COMPONENTS Interpreter)
set(_gen ${PROJECT_BINARY_DIR}/packaging)
set(_generated ${_gen}/changelog.Debian.gz)
add_custom_command(
  OUTPUT ${_gen}/changelog.Debian.gz
  COMMAND ${SLUICE_GZIP} -9nc ${_gen}/changelog.Debian > ${_gen}/changelog.Debian.gz
  DEPENDS ${_gen}/changelog.Debian
  VERBATIM)

# The sanitizers' run-time output must not end up in a man page.
set(_quiet_env ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=0)
add_custom_command(
  OUTPUT ${_gen}/sluicectl.bash ${_gen}/sluicectl-commands.h2m
  COMMAND ${CMAKE_COMMAND} -E env ${_quiet_env} ${Python3_EXECUTABLE}
          ${_pkg}/sluicectl_cli.py $<TARGET_FILE:sluicectl> completion ${_gen}/sluicectl.bash
  COMMAND ${CMAKE_COMMAND} -E env ${_quiet_env} ${Python3_EXECUTABLE}
          ${_pkg}/sluicectl_cli.py $<TARGET_FILE:sluicectl> man-include
          ${_gen}/sluicectl-commands.h2m
  DEPENDS sluicectl ${_pkg}/sluicectl_cli.py
  COMMENT "sluicectl: bash completion and man page commands from its --help"
  VERBATIM)
list(APPEND _generated ${_gen}/sluicectl.bash)
install(FILES ${_gen}/sluicectl.bash DESTINATION share/bash-completion/completions
        RENAME sluicectl)

if(SLUICE_HELP2MAN)
  foreach(_prog IN LISTS SLUICE_PRODUCTS)
    if(_prog STREQUAL sluicectl)
      set(_section 1)
      set(_includes --include=${_pkg}/man/sluicectl.h2m --include=${_gen}/sluicectl-commands.h2m)
      set(_deps ${_pkg}/man/sluicectl.h2m ${_gen}/sluicectl-commands.h2m)
    else()
      set(_section 8)
      set(_includes --include=${_pkg}/man/${_prog}.h2m)
      set(_deps ${_pkg}/man/${_prog}.h2m)
    endif()
    set(_page ${_gen}/${_prog}.${_section})
    add_custom_command(
      OUTPUT ${_page}.gz
      COMMAND ${CMAKE_COMMAND} -E env ${_quiet_env} ${SLUICE_HELP2MAN} --no-info
              --section=${_section} --source=sluice --manual=sluice ${_includes}
              --output=${_page} $<TARGET_FILE:${_prog}>
      COMMAND ${SLUICE_GZIP} -9nf ${_page}
      DEPENDS ${_prog} ${_deps}
      COMMENT "man page ${_prog}(${_section}) from its --help"
      VERBATIM)
    list(APPEND _generated ${_page}.gz)
    install(FILES ${_page}.gz DESTINATION share/man/man${_section})
  endforeach()
else()
  message(WARNING "help2man not found (scripts/install-deps installs it): the package has no man "
                  "pages")
endif()
# Everything the package's install rules copy: `cmake --build BUILD --target
# sluice_packaging_files` before cpack (tests/packaging does).
add_custom_target(sluice_packaging_files ALL DEPENDS ${_generated})
add_dependencies(sluice_packaging_files ${SLUICE_PRODUCTS} sluice_xdp_bpf)
install(FILES ${_gen}/changelog.Debian.gz DESTINATION share/doc/sluice)
install(FILES ${_pkg}/debian/lintian-overrides DESTINATION share/lintian/overrides RENAME sluice)

# ---- the Debian package -----------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sluice)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "sluice")
set(CPACK_PACKAGE_CONTACT "${SLUICE_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Binaries stripped (policy; lintian's unstripped-binary-or-object). install(FILES) is never
# stripped, so the BPF object keeps its BTF, which loading it needs.
set(CPACK_STRIP_FILES ON)
# Debian revision 1: a non-native package (changelog.Debian.gz), sluice_VERSION-1_ARCH.deb.
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${SLUICE_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# DPDK's drivers are plugins that EAL loads at start (Debian: .../dpdk/pmds-ABI), so
# dpkg-shlibdeps cannot see them. Without the ring mempool driver no mbuf pool can be made and
# sluice-dp cannot start at all: a dependency. Without a port's PMD, EAL refuses the port:
# the drivers of the rig's virtual ports and of common server NICs are recommended; another NIC
# needs its librte-net-DRIVER package (dataplane-dpdk.md). Package names carry DPDK's ABI, read
# off the installed librte_eal's SONAME (22.11: librte_eal.so.23, librte-mempool-ring23).
pkg_get_variable(_dpdk_libdir libdpdk libdir)
file(GLOB _dpdk_eal "${_dpdk_libdir}/librte_eal.so.*")
list(FILTER _dpdk_eal INCLUDE REGEX "librte_eal\\.so\\.[0-9]+$")
if(NOT _dpdk_eal)
  message(FATAL_ERROR "packaging: no librte_eal.so.ABI in '${_dpdk_libdir}' (pkg-config libdpdk)")
endif()
list(GET _dpdk_eal 0 _dpdk_eal)
string(REGEX REPLACE ".*\\.so\\.([0-9]+)$" "\\1" SLUICE_DPDK_ABI "${_dpdk_eal}")
set(CPACK_DEBIAN_PACKAGE_DEPENDS "librte-mempool-ring${SLUICE_DPDK_ABI}")
# Debian spells a name that ends in a digit with a hyphen before the ABI (librte-net-mlx5-23).
set(_pmds af-packet ring null i40e iavf ice ixgbe mlx5- e1000- virtio vmxnet3- bnxt)
list(TRANSFORM _pmds PREPEND librte-net-)
list(TRANSFORM _pmds APPEND ${SLUICE_DPDK_ABI})
list(JOIN _pmds ", " CPACK_DEBIAN_PACKAGE_RECOMMENDS)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${_conffiles} ${_pkg}/debian/postinst ${_pkg}/debian/postrm)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "SMTP traffic shaper for mail servers (DPDK and XDP)")
# The synopsis is the summary; CPack indents the body and turns its empty line into " .".
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "sluice sits inline in front of mail transfer agents and slows, tarpits or
refuses SMTP senders by reputation (rbldnsd zones, DROP lists, local lists),
by rewriting TCP windows and pacing packets, before the MTA spends any work
on them.

This package holds the DPDK data plane (sluice-dp), the XDP data plane
(sluice-xdp), the control daemon (sluiced, when built), the operators'
command line (sluicectl), their systemd units and example configuration.")
if(SLUICE_SANITIZE)
  message(STATUS "SLUICE_SANITIZE is on: a package built here links the sanitizer run-times "
                 "(for tests; build a release package without it)")
endif()
include(CPack)
