// libFuzzer: the HTTP request path of `digits serve` without sockets: arbitrary bytes parsed as
// one request with the server's limits (Beast's parser, as the server configures it), then routed
// by the server's handler (API, static files from a small site with a symlink to /etc/passwd in
// it, and the build's .br/.gz variants beside some files, one of them a symlink to /etc/passwd).
// Every parsed request must get a status in 200..599 with X-Content-Type-Options and
// Cache-Control, and every file served must be one of the site's own (never /etc/passwd through
// the symlinks), with its validators; a Content-Encoding only as the request's Accept-Encoding
// allows; a 304 only with an ETag and no body.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <string>

#include "http_server.h"
#include "static_files.h"

namespace {

struct Target {
  std::unique_ptr<digits::PredictService> service;
  std::string site_root;
  std::set<std::string> files;  // the contents of the site's files
};

Target* Init() {
  auto* t = new Target();
  digits::ServiceOptions options;
  options.backend = digits::BackendKind::kBuiltin;
  options.max_batch = 4;
  if (!digits::PredictService::Create(DIGITS_FUZZ_MODEL, options, &t->service).ok()) std::abort();
  char dir[] = "/tmp/digits_fuzz_site_XXXXXX";
  if (mkdtemp(dir) == nullptr) std::abort();
  const std::string site = dir;
  if (mkdir((site + "/sub").c_str(), 0755) != 0) std::abort();
  const std::pair<const char*, const char*> files[] = {
      {"/index.html", "<!doctype html><title>digits</title>"},
      {"/digits.js", "export {};"},
      {"/embed.html", "<!doctype html>"},
      {"/sub/index.html", "sub"},
      {"/index.html.br", "BR-INDEX"},
      {"/index.html.gz", "GZ-INDEX"},
      {"/ink.0123456789.js", "export const ink = 1;"},
      {"/ink.0123456789.js.gz", "GZ-INK"}};
  for (const auto& file : files) {
    std::ofstream(site + file.first) << file.second;
    t->files.insert(file.second);
  }
  t->files.insert("");  // HEAD
  if (symlink("/etc/passwd", (site + "/passwd").c_str()) != 0) std::abort();
  if (symlink("/etc", (site + "/etc").c_str()) != 0) std::abort();
  if (symlink("/etc/passwd", (site + "/digits.js.br").c_str()) != 0) std::abort();
  t->site_root = digits::SiteRoot(site);
  if (t->site_root.empty()) std::abort();
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Target* target = Init();
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  digits::HttpRequest request;
  const int parsed = digits::ParseHttpRequest(bytes, 64 << 10, &request);
  if (parsed != 0) {
    if (parsed != -1 && parsed != 400 && parsed != 413 && parsed != 431) std::abort();
    return 0;
  }
  digits::RequestControl control;
  control.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  // Half the inputs under a list of origins: an answer is readable by a listed origin only.
  digits::CorsPolicy cors;
  if (size % 2 == 1) {
    cors.any = false;
    cors.origins = {"https://a.example", "http://127.0.0.1:3000"};
  }
  const digits::HttpResponse response =
      digits::HandleHttpRequest(*target->service, target->site_root, request, control, cors);
  if (response.status < 200 || response.status > 599) std::abort();
  bool nosniff = false, page = false, cache_control = false, etag = false, last_modified = false;
  const std::string* allow_origin = nullptr;
  const std::string* encoding = nullptr;
  for (const auto& header : response.headers) {
    nosniff |= header.first == "X-Content-Type-Options" && header.second == "nosniff";
    page |= header.first == "X-Frame-Options";
    cache_control |= header.first == "Cache-Control";
    etag |= header.first == "ETag";
    last_modified |= header.first == "Last-Modified";
    if (header.first == "Access-Control-Allow-Origin") allow_origin = &header.second;
    if (header.first == "Content-Encoding") encoding = &header.second;
  }
  if (!nosniff || !cache_control) std::abort();
  if (response.status == 304 && (!etag || !response.body.empty())) std::abort();
  if (encoding != nullptr && ((*encoding != "br" && *encoding != "gzip") ||
                              !digits::AcceptsEncoding(request.accept_encoding, *encoding))) {
    std::abort();
  }
  if (allow_origin != nullptr) {
    if (page) std::abort();  // the page is never readable by another origin
    if (cors.any ? *allow_origin != "*"
                 : (*allow_origin != request.origin ||
                    std::find(cors.origins.begin(), cors.origins.end(), *allow_origin) ==
                        cors.origins.end())) {
      std::abort();
    }
  }
  // A 200 that is not the API's JSON is a static file: one of the site's.
  if (response.status == 200 && response.content_type != "application/json" &&
      (target->files.count(response.body) == 0 || !etag || !last_modified)) {
    std::abort();
  }
  return 0;
}
