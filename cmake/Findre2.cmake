# SPDX-License-Identifier: Apache-2.0
#
# Findre2 -- RE2 (https://github.com/google/re2) as the imported target re2::re2.
#
# Used by the build (cmake/ is on CMAKE_MODULE_PATH) and installed next to fooocus_auditConfig.cmake, whose
# find_dependency(re2) comes here. In order:
#   1. re2::re2 already defined (a parent project built or found RE2): use it;
#   2. re2Config.cmake, installed by RE2 releases built with CMake (it also brings Abseil for RE2 >= 2023.06);
#   3. pkg-config `re2` (Debian 12's libre2-dev ships only re2.pc and no CMake config);
#   4. find_path/find_library, for systems without pkg-config.
# Sets re2_FOUND.

if(TARGET re2::re2)
  set(re2_FOUND TRUE)
  return()
endif()

find_package(re2 CONFIG QUIET)
if(re2_FOUND AND TARGET re2::re2)
  return()
endif()

include(FindPackageHandleStandardArgs)
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(FA_RE2_PC QUIET IMPORTED_TARGET re2)
endif()

if(FA_RE2_PC_FOUND)
  find_package_handle_standard_args(re2 REQUIRED_VARS FA_RE2_PC_LINK_LIBRARIES)
  if(re2_FOUND)
    add_library(re2::re2 INTERFACE IMPORTED)
    set_property(TARGET re2::re2 PROPERTY INTERFACE_LINK_LIBRARIES PkgConfig::FA_RE2_PC)
  endif()
else()
  find_path(FA_RE2_INCLUDE_DIR NAMES re2/re2.h)
  find_library(FA_RE2_LIBRARY NAMES re2)
  mark_as_advanced(FA_RE2_INCLUDE_DIR FA_RE2_LIBRARY)
  find_package_handle_standard_args(re2 REQUIRED_VARS FA_RE2_LIBRARY FA_RE2_INCLUDE_DIR)
  if(re2_FOUND)
    set(THREADS_PREFER_PTHREAD_FLAG ON)
    find_package(Threads REQUIRED)
    add_library(re2::re2 UNKNOWN IMPORTED)
    set_target_properties(re2::re2 PROPERTIES
      IMPORTED_LOCATION "${FA_RE2_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${FA_RE2_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES Threads::Threads)
  endif()
endif()
