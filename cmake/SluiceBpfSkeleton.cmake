# sluice_bpf_skeleton(<name> SOURCE <file.bpf.c> [TARGETS tgt...] [INCLUDES dir...]
#                     [CFLAGS flag...])
#
# Compiles a BPF program with clang -target bpf into <name>.bpf.o and generates its libbpf
# skeleton <name>.skel.h with bpftool, usable through the INTERFACE target <name>_skel (include
# directory of the generated header, libbpf). TARGETS are header-only (INTERFACE) targets whose
# include directories the program uses (e.g. sluice_core); INCLUDES are extra directories,
# searched first. Requires clang, bpftool and libbpf (pkg-config).
#
#   include(SluiceBpfSkeleton)
#   sluice_bpf_skeleton(my_prog SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/progs/my_prog.bpf.c
#                       TARGETS sluice_core)
include_guard(GLOBAL)

find_program(SLUICE_BPF_CLANG NAMES clang clang-14 REQUIRED)
find_program(SLUICE_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBBPF REQUIRED IMPORTED_TARGET libbpf)

# The multiarch include dir holds asm/types.h, which linux/types.h needs under -target bpf.
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-multiarch OUTPUT_VARIABLE _sluice_multiarch
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT _sluice_multiarch)
  set(_sluice_multiarch x86_64-linux-gnu)
endif()
# -mcpu=v3: 32-bit sub-registers and jumps (kernel 5.1+); the packet core's u32 arithmetic then
# needs no zero-extending shift pairs (docs/dataplane-xdp.md, the verifier and cost figures).
set(SLUICE_BPF_BASE_CFLAGS -O2 -g -target bpf -mcpu=v3 -Wall -Wextra -Werror -Wno-unused-function
    -I/usr/include/${_sluice_multiarch})

# sluice_bpf_object(<name> SOURCE <file.bpf.c> [TARGETS tgt...] [INCLUDES dir...]
#                   [CFLAGS flag...]): <name>.bpf.o in the current binary directory, built by
# the custom target <name>_bpf (part of ALL, so a program that stops compiling for BPF fails
# the build). Sets <name>_BPF_OBJECT in the caller's scope.
function(sluice_bpf_object name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "SOURCE" "TARGETS;INCLUDES;CFLAGS")
  if(NOT arg_SOURCE)
    message(FATAL_ERROR "sluice_bpf_object(${name}): SOURCE is required")
  endif()
  set(_flags ${SLUICE_BPF_BASE_CFLAGS} ${arg_CFLAGS})
  foreach(_dir IN LISTS arg_INCLUDES)
    list(APPEND _flags -I${_dir})
  endforeach()
  foreach(_tgt IN LISTS arg_TARGETS)
    # One -I per directory (expanded into separate arguments by COMMAND_EXPAND_LISTS).
    list(APPEND _flags
         "-I$<JOIN:$<TARGET_PROPERTY:${_tgt},INTERFACE_INCLUDE_DIRECTORIES>,$<SEMICOLON>-I>")
  endforeach()
  set(_obj ${CMAKE_CURRENT_BINARY_DIR}/${name}.bpf.o)
  add_custom_command(
    OUTPUT ${_obj}
    COMMAND ${SLUICE_BPF_CLANG} ${_flags} -MD -MF ${_obj}.d -c ${arg_SOURCE} -o ${_obj}
    DEPENDS ${arg_SOURCE}
    DEPFILE ${_obj}.d
    COMMENT "BPF ${name}.bpf.o"
    COMMAND_EXPAND_LISTS
    VERBATIM)
  add_custom_target(${name}_bpf ALL DEPENDS ${_obj})
  set(${name}_BPF_OBJECT ${_obj} PARENT_SCOPE)
endfunction()

function(sluice_bpf_skeleton name)
  sluice_bpf_object(${name} ${ARGN})
  set(_obj ${${name}_BPF_OBJECT})
  set(_skel ${CMAKE_CURRENT_BINARY_DIR}/skel/${name}.skel.h)
  add_custom_command(
    OUTPUT ${_skel}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/skel
    COMMAND sh -c "'${SLUICE_BPFTOOL}' gen skeleton '${_obj}' name ${name} > '${_skel}.tmp'"
    COMMAND ${CMAKE_COMMAND} -E rename ${_skel}.tmp ${_skel}
    DEPENDS ${_obj}
    COMMENT "bpftool gen skeleton ${name}"
    VERBATIM)
  add_custom_target(${name}_skel_gen DEPENDS ${_skel})
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  # SYSTEM: the generated C header is not ours to keep -Wextra clean under C++.
  target_include_directories(${name}_skel SYSTEM INTERFACE ${CMAKE_CURRENT_BINARY_DIR}/skel)
  target_link_libraries(${name}_skel INTERFACE PkgConfig::LIBBPF)
endfunction()
