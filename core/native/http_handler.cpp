// The routes of `digits serve` and its static files, independent of sockets (http_server.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <string>

#include "http_server.h"

namespace digits {
namespace {

constexpr off_t kMaxStaticFileBytes = 64 << 20;

// The page's policy: what web/index.html and app.js need (module scripts and styles from self,
// WebAssembly compilation, drawn or dropped images as blob:/data:), and no framing by others.
constexpr char kPageCsp[] =
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
    "img-src 'self' blob: data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

HttpResponse FromReply(const HttpReply& reply) {
  return {reply.status, reply.content_type, reply.body, {}};
}

HttpResponse Error(int status, const std::string& message) {
  return FromReply(PredictService::Error(status, message));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes a path; false on a malformed escape or a decoded control character (NUL, a
// newline) or backslash: no name under the site has one, so such a path is an attack.
bool DecodePath(const std::string& in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '\\') return false;
    *out += c;
  }
  return true;
}

std::string MimeType(const std::string& path) {
  const size_t dot = path.find_last_of('.');
  const std::string ext = dot == std::string::npos ? "" : path.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript";
  if (ext == "css") return "text/css";
  if (ext == "wasm") return "application/wasm";
  if (ext == "json" || ext == "map") return "application/json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "txt" || ext == "md" || ext == "ts") return "text/plain; charset=utf-8";
  return "application/octet-stream";  // the model, packages, anything else
}

bool Allowed(const CorsPolicy& cors, const std::string& origin) {
  return cors.any || (!origin.empty() && std::find(cors.origins.begin(), cors.origins.end(),
                                                   origin) != cors.origins.end());
}

// The answer to a CORS preflight (OPTIONS): what the route accepts, cached for 10 minutes.
HttpResponse Preflight(const CorsPolicy& cors, const HttpRequest& request, bool api) {
  if (!request.origin.empty() && !Allowed(cors, request.origin)) {
    return Error(403, "this origin may not use the server (see digits serve --cors-origin)");
  }
  HttpResponse response;
  response.status = 204;
  const char* methods = api ? "POST, OPTIONS" : "GET, HEAD, OPTIONS";
  response.headers.push_back({"Allow", methods});
  response.headers.push_back({"Access-Control-Allow-Methods", methods});
  response.headers.push_back({"Access-Control-Allow-Headers", "Content-Type"});
  response.headers.push_back({"Access-Control-Max-Age", "600"});
  return response;
}

HttpResponse StaticFile(const std::string& site_root, const std::string& method,
                        const std::string& target, bool* page) {
  if (site_root.empty()) return Error(404, "not found");
  if (method != "GET" && method != "HEAD") return Error(405, "method not allowed");
  std::string path;
  if (!DecodePath(target.substr(0, target.find_first_of("?#")), &path) || path.empty() ||
      path[0] != '/') {
    return Error(400, "bad path");
  }
  // No "." or ".." segments, then no symlink leading out of the site (realpath resolves them all;
  // the file must lie under the site's own real path) and only regular files.
  for (size_t at = 0; at != std::string::npos;) {
    const size_t next = path.find('/', at + 1);
    const std::string segment =
        path.substr(at + 1, next == std::string::npos ? next : next - at - 1);
    if (segment == "." || segment == "..") return Error(404, "not found");
    at = next;
  }
  if (path.back() == '/') path += "index.html";
  char resolved[PATH_MAX];
  if (realpath((site_root + path).c_str(), resolved) == nullptr ||
      std::string(resolved).compare(0, site_root.size() + 1, site_root + "/") != 0) {
    return Error(404, "not found");
  }
  const int fd = open(resolved, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Error(404, "not found");
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > kMaxStaticFileBytes) {
    close(fd);
    return Error(404, "not found");
  }
  HttpResponse response;
  response.body.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < response.body.size()) {
    const ssize_t n = read(fd, &response.body[done], response.body.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  close(fd);
  if (done != response.body.size()) return Error(500, "cannot read the file");
  const std::string name = std::string(resolved).substr(std::string(resolved).rfind('/') + 1);
  response.content_type = MimeType(name);
  response.headers.push_back({"Accept-Ranges", "none"});
  *page =
      response.content_type.compare(0, 9, "text/html") == 0 && name.compare(0, 6, "embed.") != 0;
  if (*page) {
    // The page: its own policy, and no framing (clickjacking).
    response.headers.push_back({"Content-Security-Policy", kPageCsp});
    response.headers.push_back({"X-Frame-Options", "DENY"});
  }
  return response;
}

}  // namespace

std::string SiteRoot(const std::string& site) {
  if (site.empty()) return "";
  char resolved[PATH_MAX];
  struct stat st;
  if (realpath(site.c_str(), resolved) == nullptr || stat(resolved, &st) != 0 ||
      !S_ISDIR(st.st_mode)) {
    return "";
  }
  std::string root = resolved;
  if (root == "/") return "";  // never serve the whole file system
  return root;
}

Status ParseCorsOrigin(const std::string& text, CorsPolicy* out) {
  CorsPolicy policy;
  if (text == "*") {
    *out = policy;
    return Status::Ok();
  }
  policy.any = false;
  if (text != "none") {
    for (size_t at = 0; at <= text.size();) {
      const size_t comma = std::min(text.find(',', at), text.size());
      const std::string origin = text.substr(at, comma - at);
      const size_t scheme = origin.compare(0, 7, "http://") == 0    ? 7
                            : origin.compare(0, 8, "https://") == 0 ? 8
                                                                    : 0;
      const bool ok = scheme > 0 && origin.size() > scheme &&
                      origin.find_first_of("/*?#@", scheme) == std::string::npos &&
                      std::all_of(origin.begin(), origin.end(),
                                  [](unsigned char c) { return c > 0x20 && c < 0x7f; });
      if (!ok) {
        return Status::Errorf(
            "--cors-origin: '%s' is not an origin (scheme://host[:port], e.g. "
            "https://example.com), '*' or 'none'",
            origin.substr(0, 100).c_str());
      }
      policy.origins.push_back(origin);
      at = comma + 1;
    }
  }
  *out = std::move(policy);
  return Status::Ok();
}

void AddCommonHeaders(const CorsPolicy& cors, const HttpRequest& request, bool page,
                      HttpResponse* response) {
  if (!page) {
    if (!cors.any) response->headers.push_back({"Vary", "Origin"});
    if (Allowed(cors, request.origin)) {
      response->headers.push_back({"Access-Control-Allow-Origin", cors.any ? "*" : request.origin});
    }
    // No-cors loads (an <img>, a classic <script>) by other origins: as CORS allows.
    response->headers.push_back({"Cross-Origin-Resource-Policy", cors.any || !cors.origins.empty()
                                                                     ? "cross-origin"
                                                                     : "same-origin"});
  }
  response->headers.push_back({"X-Content-Type-Options", "nosniff"});
}

HttpResponse HandleHttpRequest(PredictService& service, const std::string& site_root,
                               const HttpRequest& request, const RequestControl& control,
                               const CorsPolicy& cors) {
  const std::string path = request.target.substr(0, request.target.find('?'));
  const bool api = path == "/predict" || path == "/predict/batch";
  HttpResponse response;
  bool page = false;
  if (request.method == "OPTIONS") {
    response = Preflight(cors, request, api);
  } else if (api) {
    if (request.method != "POST") {
      response = Error(405, "use POST");
    } else if (path == "/predict") {
      response = FromReply(service.Predict(request.content_type, request.body, control));
    } else {
      response = FromReply(service.PredictBatch(request.content_type, request.body, control));
    }
  } else if (path == "/model" || path == "/healthz") {
    response = request.method != "GET" && request.method != "HEAD"
                   ? Error(405, "use GET")
                   : FromReply(path == "/model" ? service.Model() : service.Health());
  } else {
    response = StaticFile(site_root, request.method, request.target, &page);
  }
  AddCommonHeaders(cors, request, page, &response);
  return response;
}

}  // namespace digits
