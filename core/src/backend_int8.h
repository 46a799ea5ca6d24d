// The int8 model's backends (network.h: Network::int8()). Every backend splits the network the
// same way: the input is quantized (kernels::QuantizeInput), an int8 body computes layers
// 0..int8_end on int8 codes, their output is dequantized and the float head (global average pool,
// dense, ...) runs on the built-in float kernels. Only the body differs per backend, so the
// backends differ only if their int8 codes do (tests check they do not), and the head's 112 x 11
// multiply-adds stay float where Grad-CAM differentiates them.
#pragma once

#include <cstdint>
#include <memory>

#include "digits/backend.h"

namespace digits {

class Int8Body {
 public:
  virtual ~Int8Body() = default;
  // Where the caller writes the network's quantized input (network.input.size() codes).
  virtual int8_t* input() = 0;
  // Runs layers 0..int8_end; *output: their last output's codes, valid until the next call.
  virtual Status Run(const int8_t** output) = 0;
};

std::unique_ptr<Int8Body> CreateBuiltinInt8Body(const Network& network);
#if DIGITS_WITH_XNNPACK
Status CreateXnnpackInt8Body(const Network& network, std::unique_ptr<Int8Body>* out);
#endif

// The backend of `kind` around `body`.
std::unique_ptr<Backend> CreateInt8Backend(const Network& network, BackendKind kind,
                                           std::unique_ptr<Int8Body> body);

}  // namespace digits
