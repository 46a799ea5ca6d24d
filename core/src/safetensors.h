// The safetensors container, apart from what the tensors mean: an 8-byte little-endian header
// length, a JSON header giving each tensor's dtype, shape and byte range, then the raw
// little-endian data (format: core/MODEL_FORMAT.md). Parsing checks the container only (header
// size, dtypes F32/F16/I8/I32, offsets in range and matching the shape, no overlaps, string
// metadata); network.cpp reads the architecture out of the metadata and asks for the tensors it
// needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "digits/status.h"

namespace digits {

// F32 and F16 hold a float model's tensors; I8 and I32 an int8 model's weights and biases.
enum class Dtype { kF32, kF16, kI8, kI32 };
const char* DtypeName(Dtype dtype);
size_t DtypeSize(Dtype dtype);

struct TensorInfo {
  Dtype dtype = Dtype::kF32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range within the data buffer
};

// A parsed file. It borrows the bytes it was parsed from: they must outlive it.
struct Safetensors {
  std::map<std::string, TensorInfo> tensors;
  std::map<std::string, std::string> metadata;  // "__metadata__"
  const uint8_t* data = nullptr;                // the data buffer, after the header
  uint64_t data_size = 0;
};

// Largest JSON header accepted; a digits model's is a few KB.
constexpr uint64_t kMaxSafetensorsHeaderBytes = 1u << 20;

Status ParseSafetensors(const uint8_t* bytes, size_t size, Safetensors* out);

// Tensor `name` as floats (F16 widened exactly), after checking it is F32 or F16, has `shape`
// and that every value is finite.
Status ReadTensor(const Safetensors& file, const std::string& name,
                  const std::vector<int64_t>& shape, std::vector<float>* out);
// Tensor `name` of an int8 model, after checking its dtype (I8, resp. I32) and `shape`.
Status ReadTensorI8(const Safetensors& file, const std::string& name,
                    const std::vector<int64_t>& shape, std::vector<int8_t>* out);
Status ReadTensorI32(const Safetensors& file, const std::string& name,
                     const std::vector<int64_t>& shape, std::vector<int32_t>* out);

// IEEE binary16 -> binary32, exact.
float HalfToFloat(uint16_t h);

std::string ShapeString(const std::vector<int64_t>& shape);

}  // namespace digits
