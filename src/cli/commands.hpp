// SPDX-License-Identifier: Apache-2.0
#pragma once
// Subcommands of fooocus-audit that live in their own files (src/cli/cmd_<name>.cpp). Each takes the
// arguments after its name and returns an exit code from cli_common.hpp. main.cpp dispatches to them.

namespace fa_cli {

/// fooocus-audit sanitize (cmd_sanitize.cpp): prompts on standard input, sanitized on standard output.
int cmd_sanitize(int argc, char** argv);

/// fooocus-audit monitor (cmd_monitor.cpp): replays a log against monitoring rules, compares with its alerts.
int cmd_monitor(int argc, char** argv);

/// fooocus-audit report (cmd_report.cpp): a compliance report over a log, verified as it is read.
int cmd_report(int argc, char** argv);

}  // namespace fa_cli
