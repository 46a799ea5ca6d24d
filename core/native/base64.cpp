#include "base64.h"

#include <openssl/evp.h>

namespace digits {
namespace {

bool IsBase64Letter(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

}  // namespace

bool DecodeBase64(const std::string& text, std::vector<uint8_t>* out) {
  if (text.empty() || text.size() % 4 != 0) return false;
  // The text is checked here, not left to OpenSSL: EVP_DecodeBlock skips leading and trailing
  // whitespace, and counts the padding's zero bits as output bytes.
  size_t padding = 0;
  while (padding < 2 && text[text.size() - 1 - padding] == '=') ++padding;
  for (size_t i = 0; i < text.size() - padding; ++i) {
    if (!IsBase64Letter(text[i])) return false;
  }
  std::vector<uint8_t> bytes(text.size() / 4 * 3);
  const int n = EVP_DecodeBlock(bytes.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0 || static_cast<size_t>(n) != bytes.size()) return false;
  bytes.resize(bytes.size() - padding);
  *out = std::move(bytes);
  return true;
}

}  // namespace digits
