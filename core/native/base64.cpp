#include "base64.h"

#include <openssl/evp.h>

namespace digits {

// OpenSSL does the decoding.
bool DecodeBase64(const std::string& text, std::vector<uint8_t>* out) {
  if (text.empty() || text.size() % 4 != 0) return false;
  std::vector<uint8_t> bytes(text.size() / 4 * 3);
  const int n = EVP_DecodeBlock(bytes.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return false;
  const size_t padding = (text.end()[-1] == '=') + (text.end()[-2] == '=');
  bytes.resize(static_cast<size_t>(n) - padding);
  *out = std::move(bytes);
  return true;
}

}  // namespace digits
