// The `veil` subcommands. Each Add* registers its options on `app` and sets `*run` to
// the action when that subcommand is chosen; the action returns the process exit code.
#pragma once

#include <functional>

#include "CLI/CLI.hpp"
#include "veil/status.h"

namespace veil::cli {

using Action = std::function<int()>;

void AddImportCommand(CLI::App& app, Action* run);
void AddInspectCommand(CLI::App& app, Action* run);
void AddRunCommand(CLI::App& app, Action* run);
void AddGenerateCommand(CLI::App& app, Action* run);
void AddNodeCommand(CLI::App& app, Action* run);   // issue 3 slice: docs/net.md
void AddInferCommand(CLI::App& app, Action* run);
void AddCommitCommand(CLI::App& app, Action* run);  // issue 5: docs/zk.md

// Prints "veil: error: <status>" to stderr and returns exit code 1.
int Fail(const Status& status);

}  // namespace veil::cli
