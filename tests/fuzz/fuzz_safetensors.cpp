// libFuzzer: the safetensors container alone (core/src/safetensors.h) on arbitrary bytes; every
// tensor of a file that parses is read back with its own shape.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  digits::Safetensors file;
  if (!digits::ParseSafetensors(data, size, &file).ok()) return 0;
  for (const auto& entry : file.tensors) {
    std::vector<float> values;
    digits::ReadTensor(file, entry.first, entry.second.shape, &values);
  }
  return 0;
}
