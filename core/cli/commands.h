// The digits CLI's subcommands; each file adds one to the app and runs it when chosen.
#pragma once

#include <CLI/CLI.hpp>

namespace digits::cli {

// Each returns the process exit code through `*exit_code` when its subcommand runs.
void AddEvalCommand(CLI::App& app, int* exit_code);
void AddRecognizeCommand(CLI::App& app, int* exit_code);
void AddServeCommand(CLI::App& app, int* exit_code);

}  // namespace digits::cli
