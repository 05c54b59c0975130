# SPDX-License-Identifier: Apache-2.0
# Driver for the package tests, run as `cmake -DMODE=... -P run_consumer.cmake` by ctest.
#
#   MODE=install     BUILD_DIR PREFIX [CONFIG]      fresh `cmake --install BUILD_DIR --prefix PREFIX`
#   MODE=cmake       SOURCE_DIR BINARY_DIR GENERATOR [MAKE_PROGRAM] C_COMPILER CXX_COMPILER [CONFIG] [FLAGS]
#                    [PREFIX] [FOOOCUS_AUDIT_SOURCE_DIR]
#                    configure, build and run the consumer project in SOURCE_DIR (its executable: consumer)
#   MODE=pkg-config  PKG_CONFIG PKG_CONFIG_PATH CXX_COMPILER SOURCE BINARY_DIR [FLAGS]
#                    CXX_COMPILER SOURCE $(pkg-config --cflags --libs fooocus_audit), then run the program

cmake_minimum_required(VERSION 3.16)

function(run)
  string(REPLACE ";" " " printable "${ARGN}")
  message(STATUS "run: ${printable}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${printable}")
  endif()
endfunction()

if(MODE STREQUAL "install")
  file(REMOVE_RECURSE "${PREFIX}")  # nothing stale may hide a missing install rule
  set(config_args "")
  if(CONFIG)
    set(config_args --config "${CONFIG}")
  endif()
  run("${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}" ${config_args})

elseif(MODE STREQUAL "cmake")
  set(args -S "${SOURCE_DIR}" -B "${BINARY_DIR}" -G "${GENERATOR}"
           "-DCMAKE_C_COMPILER=${C_COMPILER}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
           "-DCMAKE_CXX_FLAGS=${FLAGS}" "-DCMAKE_C_FLAGS=${FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${FLAGS}")
  if(MAKE_PROGRAM)
    list(APPEND args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
  endif()
  if(CONFIG)
    list(APPEND args "-DCMAKE_BUILD_TYPE=${CONFIG}")
  endif()
  if(PREFIX)
    # Only the private prefix: a fooocus_audit installed elsewhere on the system must not be picked up.
    list(APPEND args "-DCMAKE_PREFIX_PATH=${PREFIX}" "-Dfooocus_audit_DIR=" "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF")
  endif()
  if(FOOOCUS_AUDIT_SOURCE_DIR)
    list(APPEND args "-DFOOOCUS_AUDIT_SOURCE_DIR=${FOOOCUS_AUDIT_SOURCE_DIR}")
  endif()
  run("${CMAKE_COMMAND}" ${args})
  set(build_args "")
  if(CONFIG)
    set(build_args --config "${CONFIG}")
  endif()
  run("${CMAKE_COMMAND}" --build "${BINARY_DIR}" ${build_args})
  foreach(candidate "${BINARY_DIR}/consumer" "${BINARY_DIR}/${CONFIG}/consumer"
                    "${BINARY_DIR}/consumer.exe" "${BINARY_DIR}/${CONFIG}/consumer.exe")
    if(EXISTS "${candidate}" AND NOT IS_DIRECTORY "${candidate}")
      run("${candidate}")
      return()
    endif()
  endforeach()
  message(FATAL_ERROR "consumer executable not found under ${BINARY_DIR}")

elseif(MODE STREQUAL "pkg-config")
  set(ENV{PKG_CONFIG_PATH} "${PKG_CONFIG_PATH}")
  execute_process(COMMAND "${PKG_CONFIG}" --cflags --libs fooocus_audit
                  OUTPUT_VARIABLE pc_flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config --cflags --libs fooocus_audit failed (PKG_CONFIG_PATH=${PKG_CONFIG_PATH})")
  endif()
  message(STATUS "pkg-config --cflags --libs fooocus_audit: ${pc_flags}")
  separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
  # The prefix is not on the loader's path: a shared libfooocus_audit needs an rpath, as it would for a user.
  execute_process(COMMAND "${PKG_CONFIG}" --variable=libdir fooocus_audit
                  OUTPUT_VARIABLE pc_libdir OUTPUT_STRIP_TRAILING_WHITESPACE)
  list(APPEND pc_flags "-Wl,-rpath,${pc_libdir}")
  separate_arguments(extra_flags UNIX_COMMAND "${FLAGS}")
  file(MAKE_DIRECTORY "${BINARY_DIR}")
  set(exe "${BINARY_DIR}/consumer")
  run("${CXX_COMPILER}" -std=c++17 ${extra_flags} "${SOURCE}" -o "${exe}" ${pc_flags})
  run("${exe}")

else()
  message(FATAL_ERROR "run_consumer.cmake: unknown MODE '${MODE}'")
endif()
