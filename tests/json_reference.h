// The library's JSON reader (core/src/json.h) against nlohmann-json, the parser it replaced in the
// model loader: for the same bytes, both accept or both refuse, and an accepted document reads the
// same (types, numbers bit for bit, strings, keys in the same order). Used by tests/json_test.cpp
// and the fuzz_json target.
#pragma once

#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "json.h"

namespace digits {

inline int JsonDepth(const nlohmann::json& j) {
  int deepest = 0;
  if (j.is_structured()) {
    for (const auto& child : j) deepest = std::max(deepest, JsonDepth(child));
    return deepest + 1;
  }
  return 0;
}

// "" when `ours` reads as `theirs`, else where they differ.
inline std::string JsonDifference(const JsonValue& ours, const nlohmann::json& theirs,
                                  const std::string& path = "$") {
  using T = JsonValue::Type;
  auto same_bits = [](double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; };
  switch (theirs.type()) {
    case nlohmann::json::value_t::null:
      return ours.type() == T::kNull ? "" : path + ": null expected";
    case nlohmann::json::value_t::boolean:
      return ours.type() == T::kBool && ours.as_bool() == theirs.get<bool>() ? "" : path + ": bool";
    case nlohmann::json::value_t::number_integer:
      return ours.type() == T::kInteger && ours.as_int() == theirs.get<int64_t>()
                 ? ""
                 : path + ": integer";
    case nlohmann::json::value_t::number_unsigned:
      return ours.type() == T::kUnsigned && ours.as_unsigned() == theirs.get<uint64_t>()
                 ? ""
                 : path + ": unsigned";
    case nlohmann::json::value_t::number_float:
      return ours.type() == T::kFloat && same_bits(ours.as_double(), theirs.get<double>())
                 ? ""
                 : path + ": float";
    case nlohmann::json::value_t::string:
      return ours.type() == T::kString && ours.as_string() == theirs.get<std::string>()
                 ? ""
                 : path + ": string";
    case nlohmann::json::value_t::array: {
      if (ours.type() != T::kArray || ours.size() != theirs.size()) return path + ": array";
      for (size_t i = 0; i < ours.size(); ++i) {
        std::string d = JsonDifference(ours[i], theirs[i], path + "[" + std::to_string(i) + "]");
        if (!d.empty()) return d;
      }
      return "";
    }
    case nlohmann::json::value_t::object: {
      if (ours.type() != T::kObject || ours.size() != theirs.size()) return path + ": object";
      size_t i = 0;
      for (auto it = theirs.begin(); it != theirs.end(); ++it, ++i) {
        if (ours.keys()[i] != it.key()) return path + ": key " + it.key();
        std::string d = JsonDifference(ours[i], it.value(), path + "." + it.key());
        if (!d.empty()) return d;
      }
      return "";
    }
    default:
      return path + ": unexpected type";
  }
}

// "" when ParseJson and nlohmann agree on [data, data + size).
inline std::string CompareWithNlohmann(const char* data, size_t size) {
  JsonValue ours;
  const bool ok = ParseJson(data, data + size, &ours);
  const nlohmann::json theirs = nlohmann::json::parse(data, data + size, nullptr, false);
  if (theirs.is_discarded()) return ok ? "accepted what nlohmann refuses" : "";
  if (!ok) {
    return JsonDepth(theirs) > kMaxJsonDepth ? "" : "refused what nlohmann accepts";
  }
  return JsonDifference(ours, theirs);
}

}  // namespace digits
