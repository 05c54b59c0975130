// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file fooocus_audit.hpp
/// Umbrella header: everything a C++ service needs to write and verify an audit log.

#include "fooocus_audit/anchor.hpp"
#include "fooocus_audit/audit_logger.hpp"
#include "fooocus_audit/chain_verifier.hpp"
#include "fooocus_audit/common.hpp"
#include "fooocus_audit/compliance_report.hpp"
#if defined(FOOOCUS_AUDIT_COMPILED_LIB) || __has_include(<re2/re2.h>)
#include "fooocus_audit/content_policy.hpp"  // header-only mode needs RE2 (docs/content-policy.md)
#endif
#include "fooocus_audit/events.hpp"
#include "fooocus_audit/file_hash.hpp"
#include "fooocus_audit/generation_event.hpp"
#include "fooocus_audit/image_info.hpp"
#include "fooocus_audit/jcs.hpp"
#include "fooocus_audit/mac_key.hpp"
#include "fooocus_audit/merkle.hpp"
#include "fooocus_audit/model_registry.hpp"
#include "fooocus_audit/monitor.hpp"
#if defined(FOOOCUS_AUDIT_COMPILED_LIB) || __has_include(<re2/re2.h>)
#include "fooocus_audit/prompt_sanitizer.hpp"  // header-only mode needs RE2 (docs/privacy.md)
#endif
#include "fooocus_audit/proof_bundle.hpp"
#include "fooocus_audit/record.hpp"
#include "fooocus_audit/secret_guard.hpp"
#include "fooocus_audit/signed_note.hpp"
#include "fooocus_audit/signer.hpp"
#include "fooocus_audit/tracker.hpp"
#include "fooocus_audit/tree_store.hpp"
