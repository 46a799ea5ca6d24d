// The digits CLI's subcommands; each file adds one to the app and runs it when chosen.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "digits/recognizer.h"

namespace digits::cli {

// --backend's value: "xnnpack" or "builtin".
inline Status ParseBackendOption(const std::string& name, BackendKind* kind) {
  if (!ParseBackendKind(name, kind)) {
    return Status::Errorf("unknown backend '%s' (xnnpack or builtin)", name.c_str());
  }
  return Status::Ok();
}

// Loads --model with --backend.
inline Status OpenRecognizer(const std::string& model, const std::string& backend,
                             std::unique_ptr<Recognizer>* out) {
  BackendKind kind;
  DIGITS_RETURN_IF_ERROR(ParseBackendOption(backend, &kind));
  return Recognizer::CreateFromFile(model, kind, out);
}

// Each returns the process exit code through `*exit_code` when its subcommand runs.
void AddEvalCommand(CLI::App& app, int* exit_code);
void AddRecognizeCommand(CLI::App& app, int* exit_code);
void AddServeCommand(CLI::App& app, int* exit_code);

}  // namespace digits::cli
