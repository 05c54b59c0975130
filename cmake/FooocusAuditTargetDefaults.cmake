# SPDX-License-Identifier: Apache-2.0
#
# fa_target_defaults(<target>)
#
# Applies the project's own build settings to one of OUR targets: C++17 without extensions,
# warnings (-Werror when FOOOCUS_AUDIT_WERROR) and the sanitizer chosen by FOOOCUS_AUDIT_SANITIZE.
# Everything is PRIVATE, so none of it leaks to consumers of the exported targets.
# Call it for every library, executable and test the project adds (the C ABI target included).

include_guard(GLOBAL)

# Flags for FOOOCUS_AUDIT_SANITIZE, shared with the package tests so consumers link the same runtime.
set(FA_SANITIZER_FLAGS "")
if(FOOOCUS_AUDIT_SANITIZE STREQUAL "address")
  set(FA_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
elseif(FOOOCUS_AUDIT_SANITIZE STREQUAL "thread")
  set(FA_SANITIZER_FLAGS -fsanitize=thread -fno-omit-frame-pointer)
elseif(NOT FOOOCUS_AUDIT_SANITIZE STREQUAL "")
  message(FATAL_ERROR
    "FOOOCUS_AUDIT_SANITIZE must be \"\", \"address\" or \"thread\" (got \"${FOOOCUS_AUDIT_SANITIZE}\")")
endif()
if(FA_SANITIZER_FLAGS AND MSVC)
  message(FATAL_ERROR "FOOOCUS_AUDIT_SANITIZE is only supported with GCC and Clang")
endif()

function(fa_target_defaults target)
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    message(FATAL_ERROR "fa_target_defaults(${target}): interface targets belong to consumers")
  endif()
  set_target_properties(${target} PROPERTIES
    CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF
    C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 $<$<BOOL:${FOOOCUS_AUDIT_WERROR}>:/WX>)
  else()
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic
                                             $<$<BOOL:${FOOOCUS_AUDIT_WERROR}>:-Werror>)
  endif()
  if(FA_SANITIZER_FLAGS)
    # GCC's flow analysis sees through the instrumentation badly: -Wmaybe-uninitialized then fires
    # inside libstdc++ (std::function, <regex>) where nothing is uninitialized.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
    endif()
    target_compile_options(${target} PRIVATE ${FA_SANITIZER_FLAGS})
    target_link_options(${target} PRIVATE ${FA_SANITIZER_FLAGS})
    # One spelling for "which sanitizer is this?" across GCC (__SANITIZE_ADDRESS__) and Clang
    # (__has_feature): tests that measure memory or time can relax their bounds on it.
    if(FOOOCUS_AUDIT_SANITIZE STREQUAL "address")
      target_compile_definitions(${target} PRIVATE FA_SANITIZER_ADDRESS=1)
    else()
      target_compile_definitions(${target} PRIVATE FA_SANITIZER_THREAD=1)
    endif()
  endif()
endfunction()
