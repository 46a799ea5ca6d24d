// The safetensors container on its own (core/src/safetensors.h): any valid file parses, whatever
// its tensors mean; the container's own errors are found before the architecture is looked at.
#include "safetensors.h"

#include <gtest/gtest.h>

#include <cstring>

#include "model_files.h"

namespace digits {
namespace {

using nlohmann::json;

std::vector<uint8_t> FloatBytes(const std::vector<float>& values) {
  std::vector<uint8_t> bytes(values.size() * 4);
  if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

TEST(Safetensors, ParsesAFileThatIsNoDigitsModel) {
  // Two tensors and free metadata, no architecture: a container like any other.
  json header;
  header["a"] = {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 8}}};
  header["b"] = {{"dtype", "F16"}, {"shape", {1, 2}}, {"data_offsets", {8, 12}}};
  header["__metadata__"] = {{"note", "hello"}};
  std::vector<uint8_t> data = FloatBytes({1.5f, -2.0f});
  for (uint8_t byte : {0x00, 0x3c, 0x00, 0xc0}) data.push_back(byte);  // 1.0, -2.0 as F16
  const std::vector<uint8_t> bytes = test::MakeSafetensors(header, data);
  Safetensors file;
  const Status s = ParseSafetensors(bytes.data(), bytes.size(), &file);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(file.tensors.size(), 2u);
  EXPECT_EQ(file.metadata.at("note"), "hello");
  EXPECT_EQ(file.tensors.at("b").dtype, Dtype::kF16);
  std::vector<float> a, b;
  ASSERT_TRUE(ReadTensor(file, "a", {2}, &a).ok());
  ASSERT_TRUE(ReadTensor(file, "b", {1, 2}, &b).ok());
  EXPECT_EQ(a, (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(b, (std::vector<float>{1.0f, -2.0f}));
}

TEST(Safetensors, ReadTensorChecksNameShapeAndValues) {
  json header;
  header["w"] = {{"dtype", "F32"}, {"shape", {3}}, {"data_offsets", {0, 12}}};
  const std::vector<uint8_t> bytes = test::MakeSafetensors(header, FloatBytes({1.0f, NAN, 3.0f}));
  Safetensors file;
  ASSERT_TRUE(ParseSafetensors(bytes.data(), bytes.size(), &file).ok());
  std::vector<float> out = {42.0f};
  Status s = ReadTensor(file, "v", {3}, &out);
  EXPECT_NE(s.message().find("tensor 'v' is missing"), std::string::npos) << s.message();
  s = ReadTensor(file, "w", {1, 3}, &out);
  EXPECT_NE(s.message().find("has shape [3], the architecture needs [1, 3]"), std::string::npos)
      << s.message();
  s = ReadTensor(file, "w", {3}, &out);
  EXPECT_NE(s.message().find("non-finite value (NaN) at element 1"), std::string::npos)
      << s.message();
  EXPECT_EQ(out, std::vector<float>{42.0f});  // unchanged by every failure
}

TEST(Safetensors, RefusesBrokenContainers) {
  auto error = [](const json& header, size_t data_bytes) {
    const std::vector<uint8_t> bytes =
        test::MakeSafetensors(header, std::vector<uint8_t>(data_bytes));
    Safetensors file;
    const Status s = ParseSafetensors(bytes.data(), bytes.size(), &file);
    EXPECT_TRUE(file.tensors.empty());
    return s.message();
  };
  json overlap;
  overlap["a"] = {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 8}}};
  overlap["b"] = {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {4, 12}}};
  EXPECT_NE(error(overlap, 12).find("overlap"), std::string::npos);
  json past_end;
  past_end["a"] = {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {0, 16}}};
  EXPECT_NE(error(past_end, 8).find("out of range"), std::string::npos);
  json dtype;
  dtype["a"] = {{"dtype", "I64"}, {"shape", {1}}, {"data_offsets", {0, 8}}};
  EXPECT_NE(error(dtype, 8).find("dtype I64 is not supported"), std::string::npos);
  json metadata;
  metadata["__metadata__"] = {{"n", 1}};
  EXPECT_NE(error(metadata, 0).find("__metadata__.n must be a string"), std::string::npos);
  const uint8_t truncated[4] = {1, 0, 0, 0};
  Safetensors file;
  EXPECT_NE(ParseSafetensors(truncated, 4, &file).message().find("truncated"), std::string::npos);
}

}  // namespace
}  // namespace digits
