// The static files of `digits serve` (static_files.h).
#include "static_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

#include "predict_service.h"

namespace digits {
namespace {

constexpr off_t kMaxStaticFileBytes = 64 << 20;

// The page's policy: what web/index.html and app.js need (module scripts and styles from self,
// WebAssembly compilation, drawn or dropped images as blob:/data:), and no framing by others.
constexpr char kPageCsp[] =
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
    "img-src 'self' blob: data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

// A year: the longest lifetime caches honour, for names that change whenever their bytes do.
constexpr char kImmutable[] = "public, max-age=31536000, immutable";
// Entry points (index.html, digit-recognizer.js, ...): cached, but revalidated on every use (a
// 304 of a few hundred bytes when nothing changed).
constexpr char kRevalidate[] = "no-cache";

HttpResponse Error(int status, const std::string& message) {
  const HttpReply reply = PredictService::Error(status, message);
  return {reply.status, reply.content_type, reply.body, {}};
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

// name.<10 lowercase hex digits>.ext: the site build's content-hashed names.
bool ContentHashed(const std::string& name) {
  const size_t dot = name.find('.');
  if (dot == std::string::npos || dot + 12 > name.size() || name[dot + 11] != '.') return false;
  return std::all_of(name.begin() + dot + 1, name.begin() + dot + 11,
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string Trim(const std::string& s, size_t begin, size_t end) {
  while (begin < end && (s[begin] == ' ' || s[begin] == '\t')) ++begin;
  while (end > begin && (s[end - 1] == ' ' || s[end - 1] == '\t')) --end;
  return s.substr(begin, end - begin);
}

// Calls f(element) for each comma-separated element of a header, trimmed; stops when f is true.
template <typename F>
bool AnyElement(const std::string& header, F f) {
  for (size_t at = 0; at <= header.size();) {
    const size_t comma = std::min(header.find(',', at), header.size());
    if (f(Trim(header, at, comma))) return true;
    at = comma + 1;
  }
  return false;
}

std::string HttpDate(time_t t) {
  char text[40];
  struct tm tm;
  gmtime_r(&t, &tm);
  std::strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return text;
}

// An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", the form HTTP requires senders to use); -1
// for anything else (then the condition is ignored, as RFC 9110 says).
time_t ParseHttpDate(const std::string& text) {
  if (text.size() != 29 || text.compare(25, 4, " GMT") != 0) return -1;
  struct tm tm;
  std::memset(&tm, 0, sizeof(tm));
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return -1;
  return timegm(&tm);
}

bool ReadAll(int fd, size_t size, std::string* out) {
  out->resize(size);
  size_t done = 0;
  while (done < size) {
    const ssize_t n = read(fd, &(*out)[done], size - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  return done == size;
}

// A regular file of at most kMaxStaticFileBytes, opened without following a final symlink: its
// descriptor (-1 when there is none) and its stat.
int OpenRegular(const std::string& path, struct stat* st) {
  const int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) || st->st_size > kMaxStaticFileBytes) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

bool AcceptsEncoding(const std::string& accept_encoding, const std::string& coding) {
  return AnyElement(accept_encoding, [&](const std::string& element) {
    const size_t semi = std::min(element.find(';'), element.size());
    const std::string name = Trim(element, 0, semi);
    if (!(name == "*" || (name.size() == coding.size() &&
                          std::equal(name.begin(), name.end(), coding.begin(), [](char a, char b) {
                            return std::tolower(static_cast<unsigned char>(a)) == b;
                          })))) {
      return false;
    }
    // A q of 0 (0, 0.0, 0.000) refuses the coding; anything else accepts it.
    const size_t q = element.find("q=", semi);
    if (q == std::string::npos) return true;
    const std::string value = Trim(element, q + 2, element.size());
    return !(value.size() >= 1 && value[0] == '0' &&
             value.find_first_not_of("0.", 1) == std::string::npos);
  });
}

bool EtagMatches(const std::string& if_none_match, const std::string& etag) {
  return AnyElement(if_none_match, [&](const std::string& element) {
    if (element == "*") return true;
    return (element.compare(0, 2, "W/") == 0 ? element.substr(2) : element) == etag;
  });
}

HttpResponse ServeStaticFile(const std::string& site_root, const HttpRequest& request, bool* page) {
  *page = false;
  if (site_root.empty()) return Error(404, "not found");
  if (request.method != "GET" && request.method != "HEAD") {
    return Error(405, "method not allowed");
  }
  std::string path;
  if (!DecodePath(request.target.substr(0, request.target.find_first_of("?#")), &path) ||
      path.empty() || path[0] != '/') {
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
  char resolved_path[PATH_MAX];
  if (realpath((site_root + path).c_str(), resolved_path) == nullptr ||
      std::string(resolved_path).compare(0, site_root.size() + 1, site_root + "/") != 0) {
    return Error(404, "not found");
  }
  const std::string resolved = resolved_path;
  struct stat st;
  int fd = OpenRegular(resolved, &st);
  if (fd < 0) return Error(404, "not found");
  const std::string name = resolved.substr(resolved.rfind('/') + 1);

  // The variant: the build's .br or .gz beside the file (in the same, already resolved,
  // directory; a symlink there is not followed), when the client accepts it.
  std::string encoding;
  for (const char* coding : {"br", "gzip"}) {
    if (!AcceptsEncoding(request.accept_encoding, coding)) continue;
    struct stat variant_st;
    const int variant = OpenRegular(resolved + (coding[0] == 'b' ? ".br" : ".gz"), &variant_st);
    if (variant < 0) continue;
    close(fd);
    fd = variant;
    encoding = coding;
    // Last-Modified stays the file's own unless the variant is newer.
    variant_st.st_mtime = std::max(variant_st.st_mtime, st.st_mtime);
    st = variant_st;
    break;
  }

  HttpResponse response;
  response.content_type = MimeType(name);
  // Strong: one per file sent (a variant has its own), from its size and modification time as
  // most static hosts do (no hashing of the bytes on a request).
  char etag[80];
  std::snprintf(etag, sizeof(etag), "\"%llx.%lx-%llx%s%s\"",
                static_cast<unsigned long long>(st.st_mtim.tv_sec),
                static_cast<long>(st.st_mtim.tv_nsec), static_cast<unsigned long long>(st.st_size),
                encoding.empty() ? "" : "-", encoding.empty() ? "" : encoding.c_str());
  response.headers.push_back({"ETag", etag});
  response.headers.push_back({"Last-Modified", HttpDate(st.st_mtime)});
  response.headers.push_back({"Cache-Control", ContentHashed(name) ? kImmutable : kRevalidate});
  response.headers.push_back({"Vary", "Accept-Encoding"});
  if (!encoding.empty()) response.headers.push_back({"Content-Encoding", encoding});
  response.headers.push_back({"Accept-Ranges", "none"});
  *page =
      response.content_type.compare(0, 9, "text/html") == 0 && name.compare(0, 6, "embed.") != 0;
  if (*page) {
    // The page: its own policy, and no framing (clickjacking).
    response.headers.push_back({"Content-Security-Policy", kPageCsp});
    response.headers.push_back({"X-Frame-Options", "DENY"});
  }

  // Conditional requests (RFC 9110 13.2.2): If-None-Match decides when present, else
  // If-Modified-Since. Either way a 304 carries the headers, not the body.
  bool not_modified = false;
  if (!request.if_none_match.empty()) {
    not_modified = EtagMatches(request.if_none_match, etag);
  } else if (!request.if_modified_since.empty()) {
    const time_t since = ParseHttpDate(request.if_modified_since);
    not_modified = since >= 0 && st.st_mtime <= since;
  }
  if (not_modified) {
    close(fd);
    response.status = 304;
    response.content_type.clear();
    return response;
  }
  const bool read = ReadAll(fd, static_cast<size_t>(st.st_size), &response.body);
  close(fd);
  if (!read) return Error(500, "cannot read the file");
  return response;
}

}  // namespace digits
