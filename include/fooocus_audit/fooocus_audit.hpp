// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file fooocus_audit.hpp
/// Umbrella header: everything a C++ service needs to write and verify an audit log.

#include "fooocus_audit/anchor.hpp"
#include "fooocus_audit/audit_logger.hpp"
#include "fooocus_audit/chain_verifier.hpp"
#include "fooocus_audit/common.hpp"
#include "fooocus_audit/file_hash.hpp"
#include "fooocus_audit/generation_event.hpp"
#include "fooocus_audit/jcs.hpp"
#include "fooocus_audit/mac_key.hpp"
#include "fooocus_audit/merkle.hpp"
#include "fooocus_audit/proof_bundle.hpp"
#include "fooocus_audit/record.hpp"
#include "fooocus_audit/signed_note.hpp"
#include "fooocus_audit/signer.hpp"
#include "fooocus_audit/tree_store.hpp"
