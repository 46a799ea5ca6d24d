// libFuzzer: arbitrary bytes through the model loader's JSON parser (core/src/json.h) and through
// nlohmann-json, the parser it replaced there: both accept or both refuse, and an accepted
// document reads the same (tests/json_reference.h). A difference aborts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "../json_reference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string difference =
      digits::CompareWithNlohmann(reinterpret_cast<const char*>(data), size);
  if (!difference.empty()) {
    std::fprintf(stderr, "ParseJson and nlohmann-json differ: %s\n", difference.c_str());
    std::abort();
  }
  return 0;
}
