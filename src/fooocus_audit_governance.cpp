// SPDX-License-Identifier: Apache-2.0
// The compiled library, governance part: generation tracking, file hashes and image metadata, the model
// registry, compliance reports and monitoring (see src/fooocus_audit.cpp).

#ifndef FOOOCUS_AUDIT_COMPILED_LIB
#error "src/ is built with FOOOCUS_AUDIT_COMPILED_LIB defined (see CMakeLists.txt)"
#endif

#include "fooocus_audit/file_hash-inl.hpp"
#include "fooocus_audit/image_info-inl.hpp"
#include "fooocus_audit/tracker-inl.hpp"
#include "fooocus_audit/model_registry-inl.hpp"
#include "fooocus_audit/compliance_report-inl.hpp"
#include "fooocus_audit/monitor-inl.hpp"
