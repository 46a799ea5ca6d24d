// digits serve: the static site and the /predict API in one process (core/native/http_server.h, on
// Boost.Beast). Binds 127.0.0.1 unless told otherwise; SIGINT/SIGTERM stop it gracefully
// (in-flight requests finish); one log line per request on stderr.
#include <malloc.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "commands.h"
#include "http_server.h"
#include "predict_service.h"

namespace digits::cli {
namespace {

struct ServeArgs {
  std::string model, backend = BackendName(DefaultBackend()), cors_origin = "*";
  HttpServerOptions http;
};

int RunServe(const ServeArgs& args) {
  auto fail = [](const std::string& message) {
    std::fprintf(stderr, "digits serve: %s\n", message.c_str());
    return 1;
  };
  // Large buffers (bodies, decoded images) are mapped and unmapped rather than kept in the heap,
  // and at most 2 arenas: after a burst the process returns near its baseline (it stayed 700 MB
  // larger with glibc's defaults).
  mallopt(M_MMAP_THRESHOLD, 256 << 10);
  mallopt(M_TRIM_THRESHOLD, 1 << 20);
  mallopt(M_ARENA_MAX, 2);

  // Block the stop signals in every thread, before any is created (the recognizers' backends
  // start thread pools): one thread waits for them and stops the server. A thread that had them
  // unblocked would take SIGTERM's default action and kill the process mid-request.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  ServeArgs parsed = args;
  const Status cors = ParseCorsOrigin(args.cors_origin, &parsed.http.cors);
  if (!cors.ok()) return fail(cors.message());
  ServiceOptions options;
  const Status backend = ParseBackendOption(args.backend, &options.backend);
  if (!backend.ok()) return fail(backend.message());
  if (args.http.threads < 1 || args.http.threads > 256) return fail("--threads must be 1..256");
  options.recognizers = args.http.threads;
  std::unique_ptr<PredictService> service;
  Status s = PredictService::Create(args.model, options, &service);
  if (!s.ok()) return fail(s.message());

  std::unique_ptr<HttpServer> server;
  s = HttpServer::Create(service.get(), parsed.http, &server);
  if (!s.ok()) return fail(s.message());
  std::atomic<bool> done{false};
  std::thread stopper([&] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    if (done) return;
    std::fprintf(stderr, "digits serve: signal %d, shutting down\n", signal);
    server->Stop();
  });
  // Tests and scripts read the actual port from this line.
  std::fprintf(stderr, "digits serve: listening on http://%s:%d/ (model %s, %s, %d threads)\n",
               args.http.host.c_str(), server->port(), args.model.c_str(), args.backend.c_str(),
               args.http.threads);
  std::fflush(stderr);
  server->Run();
  done = true;
  pthread_kill(stopper.native_handle(), SIGTERM);  // wakes the stopper if Run ended by itself
  stopper.join();
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<ServeArgs>();
  HttpServerOptions& h = args->http;
  CLI::App* cmd = app.add_subcommand("serve", "Serve the site and the /predict API over HTTP");
  cmd->add_option("--model", args->model, "Model file (.safetensors)")->required();
  cmd->add_option("--host", h.host, "Address to bind")->capture_default_str();
  cmd->add_option("--port", h.port, "Port (0: any free port)")->capture_default_str();
  cmd->add_option("--site", h.site, "Directory served at / (e.g. build/site)");
  cmd->add_option("--threads", h.threads, "Requests computed at once (one recognizer each)")
      ->capture_default_str();
  cmd->add_option("--max-body", h.max_body, "Largest request body in bytes (chunked too)")
      ->capture_default_str();
  cmd->add_option("--timeout", h.timeout_seconds,
                  "Seconds for a whole request to arrive, and for a response to be written")
      ->capture_default_str();
  cmd->add_option("--header-timeout", h.header_timeout_seconds,
                  "Seconds for a request's headers to arrive (and a connection's idle time)")
      ->capture_default_str();
  cmd->add_option("--stall-timeout", h.stall_timeout_seconds,
                  "Seconds of silence allowed once a request has begun")
      ->capture_default_str();
  cmd->add_option("--budget", h.budget_ms, "Milliseconds of compute per request (then 503)")
      ->capture_default_str();
  cmd->add_option("--max-connections", h.max_connections, "Open connections at most")
      ->capture_default_str();
  cmd->add_option("--max-connections-per-client", h.max_connections_per_client,
                  "Open connections per client address at most")
      ->capture_default_str();
  cmd->add_option("--cors-origin", args->cors_origin,
                  "Origins whose pages may use the API and embed the widget: '*', 'none' or a "
                  "comma-separated list (https://a.example,http://localhost:3000)")
      ->capture_default_str();
  cmd->add_option("--backend", args->backend,
                  "xnnpack or builtin (default: the best this build has)")
      ->capture_default_str();
  cmd->callback([args, exit_code] { *exit_code = RunServe(*args); });
}

}  // namespace digits::cli
