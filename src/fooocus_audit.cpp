// SPDX-License-Identifier: Apache-2.0
// The compiled library: every definition of the -inl.hpp files, once.

#ifndef FOOOCUS_AUDIT_COMPILED_LIB
#error "src/ is built with FOOOCUS_AUDIT_COMPILED_LIB defined (see CMakeLists.txt)"
#endif

#include "fooocus_audit/detail/crypto-inl.hpp"
#include "fooocus_audit/detail/segment_store-inl.hpp"
#include "fooocus_audit/detail/pii_detectors-inl.hpp"
#include "fooocus_audit/detail/secret_detectors-inl.hpp"
#include "fooocus_audit/jcs-inl.hpp"
#include "fooocus_audit/merkle-inl.hpp"
#include "fooocus_audit/record-inl.hpp"
#include "fooocus_audit/generation_event-inl.hpp"
#include "fooocus_audit/events-inl.hpp"
#include "fooocus_audit/anchor-inl.hpp"
#include "fooocus_audit/secret_guard-inl.hpp"
#include "fooocus_audit/audit_logger-inl.hpp"
#include "fooocus_audit/chain_verifier-inl.hpp"
#include "fooocus_audit/compliance_report-inl.hpp"
#include "fooocus_audit/monitor-inl.hpp"
#include "fooocus_audit/file_hash-inl.hpp"
#include "fooocus_audit/image_info-inl.hpp"
#include "fooocus_audit/tracker-inl.hpp"
#include "fooocus_audit/tree_store-inl.hpp"
#include "fooocus_audit/mac_key-inl.hpp"
#include "fooocus_audit/signed_note-inl.hpp"
#include "fooocus_audit/signer-inl.hpp"
#include "fooocus_audit/proof_bundle-inl.hpp"
#include "fooocus_audit/content_policy-inl.hpp"
#include "fooocus_audit/prompt_sanitizer-inl.hpp"
#include "fooocus_audit/model_registry-inl.hpp"
