// libFuzzer: the safetensors model loader on arbitrary bytes; a model that loads must also run.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "digits/backend.h"
#include "digits/network.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  digits::Network net;
  if (!digits::LoadNetwork(data, size, &net).ok()) return 0;
  // Keep the fuzzer on small networks: a loaded model this large only burns time.
  if (net.mac_count() > 20'000'000 || net.input.size() > 65536) return 0;
  std::unique_ptr<digits::Backend> backend;
  if (!digits::CreateBackend(net, digits::BackendKind::kBuiltin, &backend).ok()) return 0;
  std::vector<float> pixels(net.input.size(), 0.5f);
  digits::ForwardOutput out;
  backend->Forward(pixels.data(), true, &out);
  return 0;
}
