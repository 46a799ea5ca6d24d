// The predict service's parts that need no trained model: strict base64 for batch images.
#include "base64.h"

#include <gtest/gtest.h>

namespace digits {
namespace {

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

TEST(Base64, DecodesStandardBase64) {
  std::vector<uint8_t> out;
  ASSERT_TRUE(DecodeBase64("QUJD", &out));
  EXPECT_EQ(out, Bytes("ABC"));
  ASSERT_TRUE(DecodeBase64("QUI=", &out));
  EXPECT_EQ(out, Bytes("AB"));
  ASSERT_TRUE(DecodeBase64("QQ==", &out));
  EXPECT_EQ(out, Bytes("A"));
  ASSERT_TRUE(DecodeBase64("+/+/", &out));
  EXPECT_EQ(out, (std::vector<uint8_t>{0xfb, 0xff, 0xbf}));
}

TEST(Base64, RefusesWhitespaceAndStrayCharacters) {
  // Each is a multiple of 4 long; OpenSSL's block decoder trims surrounding whitespace, so the
  // padding was once counted on the wrong text and zero bytes were appended ("QQ==    " -> "A\0\0").
  for (const char* text : {"QQ==    ", "    QQ==", "QUJD\n\n\n\n", "QU JD", "QUJD====", "QQ=A",
                           "Q===", "QUJ-", "QUJ_", "", "QUJ"}) {
    std::vector<uint8_t> out = {42};
    EXPECT_FALSE(DecodeBase64(text, &out)) << '"' << text << '"';
    EXPECT_EQ(out, std::vector<uint8_t>{42}) << '"' << text << '"';  // unchanged
  }
}

}  // namespace
}  // namespace digits
