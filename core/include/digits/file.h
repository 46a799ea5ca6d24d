// Reading a whole file, bounded: the model loader and the native front ends' readers share it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "digits/status.h"

namespace digits {

// Reads a whole file into memory, refusing files over `max_bytes`.
Status ReadFile(const std::string& path, size_t max_bytes, std::vector<uint8_t>* out);

}  // namespace digits
