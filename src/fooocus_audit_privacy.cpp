// SPDX-License-Identifier: Apache-2.0
// The compiled library, privacy part: the PII and secret detectors, the secret guard and the PromptSanitizer
// (see src/fooocus_audit.cpp).

#ifndef FOOOCUS_AUDIT_COMPILED_LIB
#error "src/ is built with FOOOCUS_AUDIT_COMPILED_LIB defined (see CMakeLists.txt)"
#endif

#include "fooocus_audit/detail/pii_detectors-inl.hpp"
#include "fooocus_audit/detail/secret_detectors-inl.hpp"
#include "fooocus_audit/secret_guard-inl.hpp"
#include "fooocus_audit/prompt_sanitizer-inl.hpp"
