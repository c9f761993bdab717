// The `veil` subcommands. Each Add* registers its options on `app` and sets `*run` to
// the action when that subcommand is chosen; the action returns the process exit code.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "veil/status.h"

namespace veil::cli {

using Action = std::function<int()>;

void AddImportCommand(CLI::App& app, Action* run);
void AddInspectCommand(CLI::App& app, Action* run);
void AddRunCommand(CLI::App& app, Action* run);
void AddGenerateCommand(CLI::App& app, Action* run);
void AddNodeCommand(CLI::App& app, Action* run);  // the network: docs/net.md
void AddInferCommand(CLI::App& app, Action* run);
void AddUpCommand(CLI::App& app, Action* run);
void AddModelsCommand(CLI::App& app, Action* run);
void AddCommitCommand(CLI::App& app, Action* run);  // issue 5: docs/zk.md
void AddProveCommand(CLI::App& app, Action* run);
void AddVerifyCommand(CLI::App& app, Action* run);
void AddVerifyReceiptCommand(CLI::App& app, Action* run);  // issue 4: docs/consensus.md
void AddKeyHolderCommand(CLI::App& app, Action* run);      // issue 6: docs/he.md
// Whole-file I/O for the zk commands (cmd_commit.cc); WriteFileWithMode creates with `mode`.
Status WriteFileWithMode(const std::string& path, std::span<const uint8_t> bytes, unsigned mode);
Result<std::vector<uint8_t>> ReadWholeFile(const std::string& path);

// Prints "veil: error: <status>" to stderr and returns exit code 1.
int Fail(const Status& status);

}  // namespace veil::cli
