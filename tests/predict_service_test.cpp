// The predict service's parts that need no trained model: strict base64 for batch images, on its
// own and through /predict/batch (with the untrained test model).
#include "base64.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "digits/file.h"
#include "predict_service.h"

namespace digits {
namespace {

std::vector<uint8_t> Bytes(const std::string& s) {
  return {s.begin(), s.end()};
}

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
  // padding was once counted on the wrong text and zero bytes were appended ("QQ==    " ->
  // "A\0\0").
  for (const char* text : {"QQ==    ", "    QQ==", "QUJD\n\n\n\n", "QU JD", "QUJD====", "QQ=A",
                           "Q===", "QUJ-", "QUJ_", "", "QUJ"}) {
    std::vector<uint8_t> out = {42};
    EXPECT_FALSE(DecodeBase64(text, &out)) << '"' << text << '"';
    EXPECT_EQ(out, std::vector<uint8_t>{42}) << '"' << text << '"';  // unchanged
  }
}

TEST(Base64, BatchImagesWithWhitespaceAreRefusedNotPadded) {
  std::vector<uint8_t> png;
  ASSERT_TRUE(
      ReadFile(DIGITS_TEST_DATA "/../fuzz/corpus/fuzz_image/mnist0.png", 1 << 20, &png).ok());
  std::string encoded(4 * ((png.size() + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(&encoded[0]), png.data(),
                  static_cast<int>(png.size()));
  std::unique_ptr<PredictService> service;
  ASSERT_TRUE(PredictService::Create(DIGITS_TEST_DATA "/tiny_gap.safetensors", {}, &service).ok());
  const nlohmann::json batch = {
      {"inputs",
       {{{"image", encoded}}, {{"image", encoded + "    "}}, {{"image", " " + encoded}}}}};
  const HttpReply reply = service->PredictBatch("application/json", batch.dump());
  ASSERT_EQ(reply.status, 200) << reply.body;
  const nlohmann::json results = nlohmann::json::parse(reply.body)["results"];
  ASSERT_EQ(results.size(), 3u);
  EXPECT_FALSE(results[0].contains("error")) << results[0];
  for (int i : {1, 2}) {
    EXPECT_EQ(results[i].value("error", ""), "\"image\" must be a base64-encoded PNG or JPEG")
        << results[i];
  }
}

// The service over an int8 model: /model says how many layers run in int8, and a drawing is
// recognized through them.
TEST(PredictService, ServesAnInt8Model) {
  std::unique_ptr<PredictService> service;
  const Status s =
      PredictService::Create(DIGITS_TEST_DATA "/tiny_gap_int8.safetensors", {}, &service);
  ASSERT_TRUE(s.ok()) << s.message();
  const nlohmann::json model = nlohmann::json::parse(service->Model().body);
  EXPECT_EQ(model["int8_layers"], 5);  // conv, relu, maxpool, conv, relu
  const HttpReply reply = service->Predict(
      "application/json", R"({"strokes": [[[10, 10], [10, 60]]], "gradcam": true})", {});
  ASSERT_EQ(reply.status, 200) << reply.body;
  const nlohmann::json result = nlohmann::json::parse(reply.body);
  ASSERT_EQ(result["digits"].size(), 1u);
  EXPECT_EQ(result["digits"][0]["probabilities"].size(), 10u);
  EXPECT_TRUE(result["digits"][0]["gradcam"].is_object());
}

}  // namespace
}  // namespace digits
