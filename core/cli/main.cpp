// digits: the native command-line front end of the core.
//   digits eval --model FILE --images IDX[.gz] --labels IDX[.gz] [--backend B] [--json]
//   digits recognize --model FILE (--strokes FILE.json | --image FILE.png) [--number]
//                    [--gradcam OUT.png] [--class N] [--json]
//   digits serve --model FILE [--host H] [--port P] [--site DIR] [--threads N]
#include <cstdio>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"digits: handwritten digit recognition (C++ core, XNNPACK or built-in kernels)"};
  app.require_subcommand(1);
  int exit_code = 0;
  digits::cli::AddEvalCommand(app, &exit_code);
  digits::cli::AddRecognizeCommand(app, &exit_code);
  digits::cli::AddServeCommand(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
