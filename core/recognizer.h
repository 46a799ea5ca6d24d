// Recognizer: the facade that the CLI, the web bindings, the server and the tests use. It owns the
// loaded network and one backend, and turns inputs into predictions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend.h"
#include "network.h"
#include "status.h"

namespace digits {

struct Prediction {
  int digit = -1;                   // index of the top class
  std::vector<float> probabilities;  // softmax of the logits
  std::vector<float> logits;
  bool unsure = false;  // top probability below the model's unsure_threshold
};

class Recognizer {
 public:
  // Loads a model file's bytes and creates the backend. On error `out` is unchanged.
  static Status Create(const uint8_t* model, size_t size, BackendKind backend,
                       std::unique_ptr<Recognizer>* out);
  static Status CreateFromFile(const std::string& path, BackendKind backend,
                               std::unique_ptr<Recognizer>* out);

  const Network& network() const { return *network_; }
  BackendKind backend() const { return backend_->kind(); }

  // Classifies an input that is already MNIST-like: network().input.size() pixels in [0, 1],
  // row-major, 0 = background. Fails on a wrong size or a non-finite pixel.
  Status Classify(const float* pixels, size_t count, Prediction* out);

 private:
  Recognizer() = default;
  std::unique_ptr<Network> network_;  // heap-allocated: the backend keeps a reference
  std::unique_ptr<Backend> backend_;
  ForwardOutput forward_;  // reused between calls
};

}  // namespace digits
