// The HTTP server of `digits serve`, on Boost.Beast (Debian's libboost-dev): one I/O thread for
// every connection (so slow or idle clients cost a socket, never a worker), a pool of compute
// threads for /predict (one recognizer each), and the static site. Chosen over cpp-httplib 0.11,
// whose thread per connection let 33 clients sending a byte every 2 s stop the whole service,
// which had no deadline for headers nor a limit on chunked bodies or connections.
//
// Every request is bounded: headers within --header-timeout and 8 KiB, the whole request within
// --timeout, no more than --stall-timeout without a byte once a request has begun, bodies (sent
// with Content-Length or chunked) within --max-body, compute within --budget (then 503; the work
// stops as soon as the client goes away; client addresses take turns on the compute threads),
// connections within --max-connections in all and --max-connections-per-client per address. No
// Range requests are honoured (Accept-Ranges: none).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "digits/status.h"
#include "predict_service.h"

namespace digits {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: "/predict?x=1"
  std::string content_type;
  std::string origin;  // the Origin header ("" when none)
  // For the static files (static_files.h): "" when absent. Within the 8 KiB of headers.
  std::string accept_encoding;
  std::string if_none_match;
  std::string if_modified_since;
  std::string body;
};

// Which other origins' pages may read the answers (CORS): the API and the widget's files. "*"
// (any; the default: the API takes no credentials and the widget is made to be embedded), "none"
// (same-origin only) or a comma-separated list of origins
// ("https://a.example,http://localhost:3000"). The page itself (index.html) is never readable nor
// frameable by others.
struct CorsPolicy {
  bool any = true;
  std::vector<std::string> origins;  // when !any: the allowed ones (empty: "none")
};

// Parses --cors-origin; an origin is scheme://host[:port] (http or https, no path, no slash).
Status ParseCorsOrigin(const std::string& text, CorsPolicy* out);

struct HttpResponse {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // beyond Content-Type and -Length
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;   // 0: any free port
  std::string site;  // directory served at / ("" for none)
  int threads = 4;   // compute threads (the service has as many recognizers)
  size_t max_body = 1u << 20;
  double timeout_seconds = 10;        // a whole request, and writing a response
  double header_timeout_seconds = 5;  // the headers (and a keep-alive connection's idle time)
  double stall_timeout_seconds = 1;   // silence within a request that has begun
  int budget_ms = 1000;               // compute per request
  // The budget's clock (RequestControl::clock; steady_clock when empty): tests only.
  std::function<std::chrono::steady_clock::time_point()> budget_clock;
  int max_connections = 256;
  int max_connections_per_client = 16;
  CorsPolicy cors;
};

// The site's root as served: its real path (symlinks resolved), "" when there is no site or it is
// not a directory.
std::string SiteRoot(const std::string& site);

// Answers one complete request: the API routes through `service`, GET /openapi.json (the API's
// OpenAPI 3 document, core/openapi.json), every other GET or HEAD from the files under
// `site_root` (a SiteRoot; static_files.h), OPTIONS as a CORS preflight. Never touches a socket
// (tests and tests/fuzz call it directly).
HttpResponse HandleHttpRequest(PredictService& service, const std::string& site_root,
                               const HttpRequest& request, const RequestControl& control,
                               const CorsPolicy& cors = CorsPolicy());

// The headers every answer carries: CORS (as `cors` allows `request`'s origin; never on the page)
// and nosniff. HandleHttpRequest adds them; the server adds them to the answers it makes itself.
void AddCommonHeaders(const CorsPolicy& cors, const HttpRequest& request, bool page,
                      HttpResponse* response);

// Parses `bytes` as one request with the server's limits: 0 with *out filled; the status the
// server answers for it (400, 413, 431); or -1 when the bytes end before the request does.
int ParseHttpRequest(const std::string& bytes, size_t max_body, HttpRequest* out);

class HttpServer {
 public:
  // Binds (but does not serve yet); port() is then the actual port.
  static Status Create(PredictService* service, const HttpServerOptions& options,
                       std::unique_ptr<HttpServer>* out);
  ~HttpServer();
  int port() const;
  // Serves until Stop(): requests in flight are finished, idle connections closed.
  void Run();
  void Stop();  // from any thread

  struct Impl;

 private:
  HttpServer() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace digits
