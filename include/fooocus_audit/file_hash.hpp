// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file file_hash.hpp
/// Hashing of generated files (the `outputs[].hash` of a generation event).

#include <string>

#include "fooocus_audit/common.hpp"

namespace fooocus_audit {

/// "sha256:<64 lowercase hex>" of a file's contents, read in streaming fashion (flat memory).
/// Errors: not_found, io_error (with the path and errno text).
Result<std::string> hash_file(const std::string& path);

}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/file_hash-inl.hpp"
#endif
