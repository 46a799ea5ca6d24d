// digits serve: the static site and the /predict API in one process, on cpp-httplib (Debian's
// libcpp-httplib-dev). Binds 127.0.0.1 unless told otherwise; SIGINT/SIGTERM stop it gracefully
// (in-flight requests finish); one log line per request on stderr.
#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <thread>

#include "commands.h"
#include "server.h"

namespace digits::cli {
namespace {

struct ServeArgs {
  std::string model, host = "127.0.0.1", site, backend = "xnnpack";
  int port = 8080;
  int threads = 4;
  size_t max_body = 1u << 20;
  int timeout_seconds = 10;
};

void Reply(httplib::Response& res, const HttpReply& reply) {
  res.status = reply.status;
  res.set_content(reply.body, reply.content_type.c_str());
}

int RunServe(const ServeArgs& args) {
  auto fail = [](const std::string& message) {
    std::fprintf(stderr, "digits serve: %s\n", message.c_str());
    return 1;
  };
  ServiceOptions options;
  const Status backend = ParseBackendOption(args.backend, &options.backend);
  if (!backend.ok()) return fail(backend.message());
  if (args.threads < 1 || args.threads > 256) return fail("--threads must be 1..256");
  options.recognizers = args.threads;
  std::unique_ptr<PredictService> service;
  const Status s = PredictService::Create(args.model, options, &service);
  if (!s.ok()) return fail(s.message());

  // Block the stop signals in every thread; one thread waits for them and stops the server.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  httplib::Server server;
  const int threads = args.threads;
  // A worker stays with a keep-alive connection between its requests, so there are many more
  // HTTP workers than recognizers (which bound the compute): idle connections never queue others.
  const int workers = std::max(32, 8 * threads);
  server.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  server.set_keep_alive_timeout(5);
  server.set_tcp_nodelay(true);  // no Nagle delay between a response's header and body
  server.set_payload_max_length(args.max_body);
  server.set_read_timeout(args.timeout_seconds, 0);
  server.set_write_timeout(args.timeout_seconds, 0);
  server.set_file_extension_and_mimetype_mapping("mjs", "text/javascript");
  server.set_file_extension_and_mimetype_mapping("js", "text/javascript");
  server.set_file_extension_and_mimetype_mapping("wasm", "application/wasm");
  server.set_file_extension_and_mimetype_mapping("safetensors", "application/octet-stream");
  if (!args.site.empty() && !server.set_mount_point("/", args.site)) {
    return fail("--site '" + args.site + "' is not a directory");
  }

  server.Post("/predict", [&](const httplib::Request& req, httplib::Response& res) {
    Reply(res, service->Predict(req.get_header_value("Content-Type"), req.body));
  });
  server.Post("/predict/batch", [&](const httplib::Request& req, httplib::Response& res) {
    Reply(res, service->PredictBatch(req.get_header_value("Content-Type"), req.body));
  });
  server.Get("/model", [&](const httplib::Request&, httplib::Response& res) {
    Reply(res, service->Model());
  });
  server.Get("/healthz", [&](const httplib::Request&, httplib::Response& res) {
    Reply(res, service->Health());
  });
  // httplib answers oversized bodies (413), unknown routes (404) and the like itself: give those
  // the same JSON error body as ours.
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    const std::string text = res.status == 413   ? "request body is larger than the server's limit"
                             : res.status == 404 ? "not found"
                                                 : "HTTP error " + std::to_string(res.status);
    Reply(res, PredictService::Error(res.status, text));
  });
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        Reply(res, PredictService::Error(500, "internal error"));
      });
  server.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    std::time_t now = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    std::fprintf(stderr, "%s %s %s %s %d %zu\n", stamp, req.remote_addr.c_str(), req.method.c_str(),
                 req.path.c_str(), res.status, res.body.size());
  });

  int port = args.port;
  if (port == 0) {
    port = server.bind_to_any_port(args.host.c_str());
  } else if (!server.bind_to_port(args.host.c_str(), port)) {
    port = -1;
  }
  if (port <= 0) return fail("cannot listen on " + args.host + ":" + std::to_string(args.port));
  std::atomic<bool> signalled{false};
  std::thread stopper([&] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    signalled = true;
    std::fprintf(stderr, "digits serve: signal %d, shutting down\n", signal);
    server.stop();
  });
  // Tests and scripts read the actual port from this line.
  std::fprintf(stderr, "digits serve: listening on http://%s:%d/ (model %s, %s, %d threads)\n",
               args.host.c_str(), port, args.model.c_str(), args.backend.c_str(), threads);
  std::fflush(stderr);
  const bool ok = server.listen_after_bind();
  // listen_after_bind returns after stop() or on a socket error; in the latter case wake the
  // stopper so it can be joined.
  if (!signalled) pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  return ok ? 0 : 1;
}

}  // namespace

void AddServeCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve the site and the /predict API over HTTP");
  cmd->add_option("--model", args->model, "Model file (.safetensors)")->required();
  cmd->add_option("--host", args->host, "Address to bind")->capture_default_str();
  cmd->add_option("--port", args->port, "Port (0: any free port)")->capture_default_str();
  cmd->add_option("--site", args->site, "Directory served at / (e.g. build/site)");
  cmd->add_option("--threads", args->threads, "Requests computed at once (one recognizer each)")
      ->capture_default_str();
  cmd->add_option("--max-body", args->max_body, "Largest request body in bytes")
      ->capture_default_str();
  cmd->add_option("--timeout", args->timeout_seconds, "Read/write timeout per request, seconds")
      ->capture_default_str();
  cmd->add_option("--backend", args->backend, "xnnpack or builtin")->capture_default_str();
  cmd->callback([args, exit_code] { *exit_code = RunServe(*args); });
}

}  // namespace digits::cli
