// libFuzzer: the safetensors container alone (core/src/safetensors.h) on arbitrary bytes; every
// tensor of a file that parses is read back with its own shape, by the reader of its dtype.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  digits::Safetensors file;
  if (!digits::ParseSafetensors(data, size, &file).ok()) return 0;
  for (const auto& entry : file.tensors) {
    const std::string& name = entry.first;
    const std::vector<int64_t>& shape = entry.second.shape;
    if (entry.second.dtype == digits::Dtype::kI8) {
      std::vector<int8_t> codes;
      digits::ReadTensorI8(file, name, shape, &codes);
    } else if (entry.second.dtype == digits::Dtype::kI32) {
      std::vector<int32_t> values;
      digits::ReadTensorI32(file, name, shape, &values);
    } else {
      std::vector<float> values;
      digits::ReadTensor(file, name, shape, &values);
    }
  }
  return 0;
}
