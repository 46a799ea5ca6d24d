// Model files built in memory for the loader's and the layers' tests, and random data to fill them.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "digits/network.h"

namespace digits::test {

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

inline std::vector<uint8_t> MakeSafetensors(const nlohmann::json& header_json,
                                            const std::vector<uint8_t>& data) {
  const std::string header = header_json.dump();
  std::vector<uint8_t> bytes(8);
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(n >> (8 * i));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

// A digits model file: F32 tensors laid out back to back, the architecture in __metadata__.
inline std::vector<uint8_t> MakeModelFile(const nlohmann::json& architecture,
                                          const std::vector<TensorSpec>& tensors) {
  nlohmann::json header;
  header["__metadata__"] = {{"format", "digits/1"}, {"architecture", architecture.dump()}};
  std::vector<uint8_t> data;
  for (const TensorSpec& t : tensors) {
    const size_t begin = data.size();
    data.resize(begin + t.values.size() * 4);
    std::memcpy(&data[begin], t.values.data(), t.values.size() * 4);
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
  }
  return MakeSafetensors(header, data);
}

// A tensor of any dtype (an int8 model's I8 weights, I32 biases, F32 scales): its raw bytes.
struct RawTensor {
  std::string name, dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

// The values' bytes (the tests run on little-endian hosts, as safetensors is).
template <typename T>
RawTensor Raw(const std::string& name, const std::string& dtype, std::vector<int64_t> shape,
              const std::vector<T>& values) {
  RawTensor t{name, dtype, std::move(shape), std::vector<uint8_t>(values.size() * sizeof(T))};
  if (!values.empty()) std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

inline std::vector<uint8_t> MakeRawModelFile(const nlohmann::json& architecture,
                                             const std::vector<RawTensor>& tensors) {
  nlohmann::json header;
  header["__metadata__"] = {{"format", "digits/1"}, {"architecture", architecture.dump()}};
  std::vector<uint8_t> data;
  for (const RawTensor& t : tensors) {
    const size_t begin = data.size();
    data.insert(data.end(), t.bytes.begin(), t.bytes.end());
    header[t.name] = {
        {"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
  }
  return MakeSafetensors(header, data);
}

inline std::vector<float> RandomValues(size_t n, std::mt19937* rng, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(*rng);
  return v;
}

inline std::vector<float> RandomPixels(size_t n, std::mt19937* rng) {
  std::uniform_real_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(*rng);
  return v;
}

// Uniform int8 codes in [lo, hi] (symmetric weight codes never use -128).
inline std::vector<int8_t> RandomCodes(size_t n, std::mt19937* rng, int lo = -128, int hi = 127) {
  std::uniform_int_distribution<int> dist(lo, hi);
  std::vector<int8_t> v(n);
  for (int8_t& x : v) x = static_cast<int8_t>(dist(*rng));
  return v;
}

// A conv2d layer's geometry (square kernel, stride and padding; HWC shapes), weights not set.
inline Layer ConvGeometry(int cin, int cout, int h, int w, int k, int stride, int pad) {
  Layer conv;
  conv.type = LayerType::kConv2d;
  conv.kernel_h = conv.kernel_w = k;
  conv.stride_h = conv.stride_w = stride;
  conv.pad_h = conv.pad_w = pad;
  conv.input = {h, w, cin};
  conv.output = {(h + 2 * pad - k) / stride + 1, (w + 2 * pad - k) / stride + 1, cout};
  return conv;
}

}  // namespace digits::test
