// A small strict JSON reader for the model file: the safetensors header and the architecture in
// its metadata (core/MODEL_FORMAT.md). It replaces nlohmann-json in the library because the
// library also runs in the browser, where that parser's template code was a sixth of the wasm (40
// of 236 KB) and its first run, in V8's baseline tier, most of the model load's time.
//
// It accepts what nlohmann::json::parse(..., allow_exceptions=false) accepts and reads values the
// same way (tests/json_test.cpp checks both on the same inputs): RFC 8259 JSON with a leading
// UTF-8 byte order mark allowed and a NUL byte after the value taken as the end of the input;
// strings validated as UTF-8, escapes decoded (surrogate pairs to one code point); integers
// without fraction or exponent are integers (unsigned when not negative) while they fit in 64
// bits, every other number a double (strtod; refused when it overflows to infinity); an object's
// members sorted by key (bytewise), the last of duplicate keys kept. One limit of its own:
// arrays and objects nested more than kMaxJsonDepth deep are refused (nlohmann has none; a model
// header nests 3 deep, its architecture 4).
//
// Why not a library from Debian (measured on digits.wasm, Emscripten 3.1.6, gzip -9; this reader:
// 180,479 bytes, 74,749 gzip): rapidjson-dev 1.1.0 (its last release, 2016) costs 0.5-2.7 KB gzip
// more but misreads numbers: with kParseFullPrecisionFlag "0e40" reads as 3.3e122 (clz(0), UB)
// and "10e308" as -3.1e-308; its number scanner, with any flags, refuses finite numbers such as
// "0e400" (the json_test cases). jsmn (libjsmn-dev 1.1.0) checks neither separators, nor number
// and literal syntax inside arrays, nor string bytes: a wrapper would redo all of this reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace digits {

constexpr int kMaxJsonDepth = 64;

class JsonValue {
 public:
  enum class Type { kNull, kBool, kInteger, kUnsigned, kFloat, kString, kArray, kObject };

  Type type() const { return type_; }
  bool is_object() const { return type_ == Type::kObject; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_null() const { return type_ == Type::kNull; }
  // Any number; is_number_integer: one without fraction or exponent that fits 64 bits
  // (is_number_unsigned: and not negative).
  bool is_number() const { return is_number_integer() || type_ == Type::kFloat; }
  bool is_number_integer() const { return type_ == Type::kInteger || type_ == Type::kUnsigned; }
  bool is_number_unsigned() const { return type_ == Type::kUnsigned; }

  // Values, converted as static_cast would (0 for a value that is not a number or a bool).
  int64_t as_int() const { return As<int64_t>(); }
  uint64_t as_unsigned() const { return As<uint64_t>(); }
  double as_double() const { return As<double>(); }
  bool as_bool() const { return type_ == Type::kBool && bool_; }
  const std::string& as_string() const { return string_; }  // "" unless a string

  // Arrays: the elements. Objects: the members' values, sorted by key (keys() in the same
  // order). Empty for every other type.
  size_t size() const { return values_.size(); }
  const std::vector<JsonValue>& values() const { return values_; }
  const JsonValue& operator[](size_t i) const { return values_[i]; }
  const std::vector<std::string>& keys() const { return keys_; }
  // The member `key` of an object, or nullptr (also when this is not an object).
  const JsonValue* Find(const std::string& key) const;

 private:
  friend class JsonParser;
  // The value as a T, whichever of the number fields (or the bool) holds it.
  template <typename T>
  T As() const {
    switch (type_) {
      case Type::kInteger:
        return static_cast<T>(int_);
      case Type::kUnsigned:
        return static_cast<T>(unsigned_);
      case Type::kFloat:
        return static_cast<T>(float_);
      case Type::kBool:
        return static_cast<T>(bool_);
      default:
        return T{0};
    }
  }
  Type type_ = Type::kNull;
  bool bool_ = false;
  int64_t int_ = 0;
  uint64_t unsigned_ = 0;
  double float_ = 0;
  std::string string_;
  std::vector<std::string> keys_;
  std::vector<JsonValue> values_;
};

// Parses [begin, end) as one JSON value (surrounding whitespace allowed). False, with *out
// unspecified, when it is not valid JSON or nests deeper than kMaxJsonDepth.
bool ParseJson(const char* begin, const char* end, JsonValue* out);

}  // namespace digits
