// The routes of `digits serve`, independent of sockets (http_server.h); the static files are
// static_files.cpp.
#include <sys/stat.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <string>

#include "http_server.h"
#include "openapi_document.h"
#include "static_files.h"

namespace digits {
namespace {

HttpResponse FromReply(const HttpReply& reply) {
  return {reply.status, reply.content_type, reply.body, {}};
}

HttpResponse Error(int status, const std::string& message) {
  return FromReply(PredictService::Error(status, message));
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
    if (!cors.any) {
      // One Vary header (the server sets each header once): Origin added to what is there.
      auto vary = std::find_if(response->headers.begin(), response->headers.end(),
                               [](const auto& h) { return h.first == "Vary"; });
      if (vary == response->headers.end()) {
        response->headers.push_back({"Vary", "Origin"});
      } else {
        vary->second += ", Origin";
      }
    }
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
  } else if (path == "/model" || path == "/healthz" || path == "/openapi.json") {
    if (request.method != "GET" && request.method != "HEAD") {
      response = Error(405, "use GET");
    } else if (path == "/openapi.json") {
      response = {200, "application/json", kOpenApiDocument, {}};
    } else {
      response = FromReply(path == "/model" ? service.Model() : service.Health());
    }
  } else {
    response = ServeStaticFile(site_root, request, &page);
  }
  // The API's answers and every error are not for caches; the files say what they are.
  if (std::none_of(response.headers.begin(), response.headers.end(),
                   [](const auto& h) { return h.first == "Cache-Control"; })) {
    response.headers.push_back({"Cache-Control", "no-store"});
  }
  AddCommonHeaders(cors, request, page, &response);
  return response;
}

}  // namespace digits
