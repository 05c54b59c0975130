# SPDX-License-Identifier: Apache-2.0
#
# Install rules: headers, libraries, the CLI, the CMake package (fooocus_audit::*) and fooocus_audit.pc.
# Included from the root CMakeLists.txt when FOOOCUS_AUDIT_INSTALL is ON.

include_guard(GLOBAL)
include(CMakePackageConfigHelpers)

set(FA_CMAKE_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/fooocus_audit")
set(FA_PKGCONFIG_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig")

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/fooocus_audit"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        COMPONENT fooocus_audit_development)

install(TARGETS ${FOOOCUS_AUDIT_EXPORTED_TARGETS}
        EXPORT fooocus_auditTargets
        RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT fooocus_audit_runtime
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT fooocus_audit_runtime
                NAMELINK_COMPONENT fooocus_audit_development
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT fooocus_audit_development
        INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")

if(TARGET fooocus-audit)
  install(TARGETS fooocus-audit RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT fooocus_audit_runtime)
endif()

install(EXPORT fooocus_auditTargets
        NAMESPACE fooocus_audit::
        FILE fooocus_auditTargets.cmake
        DESTINATION "${FA_CMAKE_INSTALL_DIR}"
        COMPONENT fooocus_audit_development)

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/fooocus_auditConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/fooocus_auditConfig.cmake"
  INSTALL_DESTINATION "${FA_CMAKE_INSTALL_DIR}")
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/fooocus_auditConfigVersion.cmake"
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES "${PROJECT_BINARY_DIR}/fooocus_auditConfig.cmake"
              "${PROJECT_BINARY_DIR}/fooocus_auditConfigVersion.cmake"
              "${PROJECT_SOURCE_DIR}/cmake/Findre2.cmake"
        DESTINATION "${FA_CMAKE_INSTALL_DIR}"
        COMPONENT fooocus_audit_development)

# pkg-config. The prefix is derived from ${pcfiledir}, so the file stays right after
# `cmake --install --prefix <elsewhere>` or when the tree is moved.
function(fa_pc_dir var dir)
  if(IS_ABSOLUTE "${dir}")
    set(${var} "${dir}" PARENT_SCOPE)
  else()
    set(${var} "\${prefix}/${dir}" PARENT_SCOPE)
  endif()
endfunction()
if(IS_ABSOLUTE "${FA_PKGCONFIG_INSTALL_DIR}")
  set(FA_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH FA_PC_UP "/prefix/${FA_PKGCONFIG_INSTALL_DIR}" "/prefix")
  string(REGEX REPLACE "/$" "" FA_PC_UP "${FA_PC_UP}")
  set(FA_PC_PREFIX "\${pcfiledir}/${FA_PC_UP}")
endif()
fa_pc_dir(FA_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
fa_pc_dir(FA_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
# fmt and re2 are private dependencies: a shared library hides them, a static archive needs them on every link line.
set(FA_PC_REQUIRES "libcrypto >= 3.0, nlohmann_json >= 3.10")
if(BUILD_SHARED_LIBS)
  set(FA_PC_REQUIRES_LINES "Requires: ${FA_PC_REQUIRES}\nRequires.private: fmt, re2")
else()
  set(FA_PC_REQUIRES_LINES "Requires: ${FA_PC_REQUIRES}, fmt, re2")
endif()
configure_file("${PROJECT_SOURCE_DIR}/cmake/fooocus_audit.pc.in" "${PROJECT_BINARY_DIR}/fooocus_audit.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/fooocus_audit.pc"
        DESTINATION "${FA_PKGCONFIG_INSTALL_DIR}"
        COMPONENT fooocus_audit_development)

install(FILES "${PROJECT_SOURCE_DIR}/LICENSE"
        DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/fooocus_audit"
        COMPONENT fooocus_audit_runtime)
