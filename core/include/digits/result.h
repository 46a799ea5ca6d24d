// The recognition result as a document: the one definition of its field names and nesting. The
// CLI's and the HTTP service's JSON (core/native/json_io.h) and the wasm module's JS objects
// (web/bindings.cpp) are written by WriteRecognition through a ResultWriter each, so every front
// end answers with the same object. The fields are documented in core/RESULT_FORMAT.md.
#pragma once

#include <string>
#include <vector>

#include "digits/network.h"
#include "digits/recognizer.h"

namespace digits {

// Receives a document's values in order. `key` names a member of the enclosing object; it is
// nullptr for the elements of an array.
class ResultWriter {
 public:
  virtual ~ResultWriter() = default;
  virtual void BeginObject(const char* key) = 0;
  virtual void EndObject() = 0;
  virtual void BeginArray(const char* key) = 0;
  virtual void EndArray() = 0;
  virtual void Null(const char* key) = 0;
  virtual void Bool(const char* key, bool value) = 0;
  virtual void Int(const char* key, int value) = 0;
  virtual void Float(const char* key, float value) = 0;
  virtual void String(const char* key, const std::string& value) = 0;
  // Arrays of numbers (typed arrays in JS).
  virtual void Floats(const char* key, const std::vector<float>& values) = 0;
  virtual void Ints(const char* key, const std::vector<int>& values) = 0;
};

// Writes `result`, recognized by a recognizer of `network`, as one object.
void WriteRecognition(const Recognition& result, const Network& network, ResultWriter* writer);

}  // namespace digits
