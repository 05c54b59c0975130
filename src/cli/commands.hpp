// SPDX-License-Identifier: Apache-2.0
#pragma once
// Subcommands of fooocus-audit that live in their own files (src/cli/cmd_<name>.cpp). Each takes the
// arguments after its name and returns an exit code from cli_common.hpp. main.cpp dispatches to them.

namespace fa_cli {

}  // namespace fa_cli
