// Base64 of the HTTP service's batch images.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace digits {

// Standard base64 (RFC 4648): the alphabet A-Z a-z 0-9 + /, length a multiple of 4, '=' padding
// only at the end. Anything else (whitespace, line breaks, URL-safe characters) is refused: false.
bool DecodeBase64(const std::string& text, std::vector<uint8_t>* out);

}  // namespace digits
