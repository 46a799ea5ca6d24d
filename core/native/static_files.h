// The static site of `digits serve`, served as a good static host does: strong ETag and
// Last-Modified, 304 Not Modified for If-None-Match / If-Modified-Since, HEAD, the gzip or brotli
// variant the site build made (name.gz, name.br beside the file; web/assemble_site.py) chosen by
// Accept-Encoding with Vary: Accept-Encoding (never compressed per request), and Cache-Control:
// immutable for content-hashed names (name.<10 hex>.ext), revalidate (no-cache) for the rest.
#pragma once

#include <string>

#include "http_server.h"

namespace digits {

// The answer for a GET or HEAD of `request.target` under `site_root` (a SiteRoot, "" for none).
// *page: the answer is the page itself (HTML other than embed.*), which gets its own CSP and no
// CORS.
HttpResponse ServeStaticFile(const std::string& site_root, const HttpRequest& request, bool* page);

// Accept-Encoding: whether `coding` ("br", "gzip") is acceptable, i.e. named (or "*") with a q
// above 0. Linear in the header's length.
bool AcceptsEncoding(const std::string& accept_encoding, const std::string& coding);

// If-None-Match: whether `etag` (strong, quoted) matches the list (weak comparison, or "*").
bool EtagMatches(const std::string& if_none_match, const std::string& etag);

}  // namespace digits
