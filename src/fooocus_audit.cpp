// SPDX-License-Identifier: Apache-2.0
// The compiled library: every definition of the -inl.hpp files, once. The definitions are spread over three
// translation units (this one: the log core; fooocus_audit_privacy.cpp; fooocus_audit_governance.cpp) so that
// a two-core build compiles them in parallel; each -inl.hpp is included by exactly one of them.

#ifndef FOOOCUS_AUDIT_COMPILED_LIB
#error "src/ is built with FOOOCUS_AUDIT_COMPILED_LIB defined (see CMakeLists.txt)"
#endif

#include "fooocus_audit/detail/crypto-inl.hpp"
#include "fooocus_audit/detail/segment_store-inl.hpp"
#include "fooocus_audit/jcs-inl.hpp"
#include "fooocus_audit/merkle-inl.hpp"
#include "fooocus_audit/record-inl.hpp"
#include "fooocus_audit/generation_event-inl.hpp"
#include "fooocus_audit/events-inl.hpp"
#include "fooocus_audit/anchor-inl.hpp"
#include "fooocus_audit/audit_logger-inl.hpp"
#include "fooocus_audit/chain_verifier-inl.hpp"
#include "fooocus_audit/tree_store-inl.hpp"
#include "fooocus_audit/mac_key-inl.hpp"
#include "fooocus_audit/signed_note-inl.hpp"
#include "fooocus_audit/signer-inl.hpp"
#include "fooocus_audit/proof_bundle-inl.hpp"
// content_policy-inl.hpp uses jcs-inl.hpp's internals, so it stays in the translation unit that defines them.
#include "fooocus_audit/content_policy-inl.hpp"
