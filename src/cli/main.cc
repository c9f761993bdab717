// veil: secure, private and verifiable decentralized neural-network inference.
#include <iostream>

#include "commands.h"
#include "veil/status.h"

namespace veil::cli {
int Fail(const Status& status) {
  std::cerr << "veil: error: " << status.ToString() << "\n";
  return 1;
}
}  // namespace veil::cli

int main(int argc, char** argv) {
  CLI::App app{"veil: exact-integer neural-network inference for decentralized, verifiable serving"};
  app.require_subcommand(1);
  veil::cli::Action run;
  veil::cli::AddImportCommand(app, &run);
  veil::cli::AddInspectCommand(app, &run);
  veil::cli::AddRunCommand(app, &run);
  veil::cli::AddGenerateCommand(app, &run);
  veil::cli::AddNodeCommand(app, &run);
  veil::cli::AddInferCommand(app, &run);
  veil::cli::AddUpCommand(app, &run);
  veil::cli::AddModelsCommand(app, &run);
  veil::cli::AddCommitCommand(app, &run);
  veil::cli::AddProveCommand(app, &run);
  veil::cli::AddVerifyCommand(app, &run);
  veil::cli::AddVerifyReceiptCommand(app, &run);
  veil::cli::AddKeyHolderCommand(app, &run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    return run();
  } catch (const std::exception& e) {  // never die silently on an unexpected failure
    std::cerr << "veil: internal error: " << e.what() << "\n";
    return 2;
  }
}
