#include "safetensors.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "digits/limits.h"
#include "json.h"

namespace digits {
namespace {

// Bound on elements per tensor, far from int overflow in shape arithmetic.
constexpr int64_t kMaxElements = 1 << 26;

Status ParseTensorInfo(const std::string& name, const JsonValue& value, uint64_t data_size,
                       TensorInfo* out) {
  const std::string where = "tensor '" + name + "'";
  if (!value.is_object()) return Status::Errorf("%s: entry must be an object", where.c_str());
  const JsonValue* dtype = value.Find("dtype");
  if (!dtype || !dtype->is_string()) {
    return Status::Errorf("%s: missing \"dtype\"", where.c_str());
  }
  const std::string& dtype_name = dtype->as_string();
  if (dtype_name == "F32") {
    out->dtype = Dtype::kF32;
  } else if (dtype_name == "F16") {
    out->dtype = Dtype::kF16;
  } else if (dtype_name == "I8") {
    out->dtype = Dtype::kI8;
  } else if (dtype_name == "I32") {
    out->dtype = Dtype::kI32;
  } else {
    return Status::Errorf("%s: dtype %s is not supported (F32, F16, I8 or I32)", where.c_str(),
                          dtype_name.c_str());
  }
  const JsonValue* shape = value.Find("shape");
  if (!shape || !shape->is_array()) {
    return Status::Errorf("%s: missing \"shape\" array", where.c_str());
  }
  int64_t count = 1;
  for (const JsonValue& d : shape->values()) {
    if (!d.is_number_integer() || d.as_int() < 0 || d.as_int() > kMaxElements) {
      return Status::Errorf("%s: shape has an invalid dimension", where.c_str());
    }
    out->shape.push_back(d.as_int());
    count *= out->shape.back();
    if (count > kMaxElements) return Status::Errorf("%s: shape is too large", where.c_str());
  }
  const JsonValue* offsets = value.Find("data_offsets");
  if (!offsets || !offsets->is_array() || offsets->size() != 2 ||
      !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned()) {
    return Status::Errorf("%s: \"data_offsets\" must be two non-negative integers", where.c_str());
  }
  out->begin = (*offsets)[0].as_unsigned();
  out->end = (*offsets)[1].as_unsigned();
  if (out->begin > out->end || out->end > data_size) {
    return Status::Errorf("%s: data_offsets [%llu, %llu] are out of range (data is %llu bytes)",
                          where.c_str(), static_cast<unsigned long long>(out->begin),
                          static_cast<unsigned long long>(out->end),
                          static_cast<unsigned long long>(data_size));
  }
  const uint64_t expected = static_cast<uint64_t>(count) * DtypeSize(out->dtype);
  if (out->end - out->begin != expected) {
    return Status::Errorf("%s: has %llu bytes but shape %s of %s needs %llu", where.c_str(),
                          static_cast<unsigned long long>(out->end - out->begin),
                          ShapeString(out->shape).c_str(), dtype_name.c_str(),
                          static_cast<unsigned long long>(expected));
  }
  return Status::Ok();
}

// IEEE binary16 -> binary32, exact (a test checks all 63,488 finite values), without a loop or a
// data-dependent branch on the common path, and internal so that it inlines into ReadTensor's loop.
// Exponent and mantissa move up 13 bits and the exponent is rebiased (15 -> 127); Inf/NaN get the
// all-ones exponent; a subnormal (or zero) is rebuilt as 2^-14 * (1 + m) and 2^-14 subtracted,
// which the FPU does exactly.
inline float HalfBitsToFloat(uint16_t h) {
  const uint32_t shifted = static_cast<uint32_t>(h & 0x7fffu) << 13;
  const uint32_t exponent = shifted & 0x0f800000u;
  uint32_t bits = shifted + (112u << 23);
  float value;
  if (exponent == 0x0f800000u) {
    bits += 112u << 23;
    std::memcpy(&value, &bits, sizeof value);
  } else if (exponent == 0) {
    bits += 1u << 23;
    std::memcpy(&value, &bits, sizeof value);
    value -= 6.103515625e-05f;  // 2^-14
  } else {
    std::memcpy(&value, &bits, sizeof value);
  }
  std::memcpy(&bits, &value, sizeof bits);
  bits |= static_cast<uint32_t>(h & 0x8000u) << 16;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

}  // namespace

const char* DtypeName(Dtype dtype) {
  switch (dtype) {
    case Dtype::kF32:
      return "F32";
    case Dtype::kF16:
      return "F16";
    case Dtype::kI8:
      return "I8";
    case Dtype::kI32:
      return "I32";
  }
  return "?";
}

size_t DtypeSize(Dtype dtype) {
  switch (dtype) {
    case Dtype::kF32:
    case Dtype::kI32:
      return 4;
    case Dtype::kF16:
      return 2;
    case Dtype::kI8:
      return 1;
  }
  return 1;
}

float HalfToFloat(uint16_t h) {
  return HalfBitsToFloat(h);
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

Status ParseSafetensors(const uint8_t* bytes, size_t size, Safetensors* out) {
  if (size > kMaxModelBytes) {
    return Status::Errorf("model file is %zu bytes, more than the %zu-byte limit", size,
                          kMaxModelBytes);
  }
  if (size < 8) {
    return Status::Errorf(
        "model file is truncated: %zu bytes, but a safetensors file starts with an 8-byte "
        "header length",
        size);
  }
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | bytes[i];
  if (header_size > size - 8) {
    return Status::Errorf(
        "model file is truncated or corrupt: header length %llu runs past the end of the file "
        "(%zu bytes)",
        static_cast<unsigned long long>(header_size), size);
  }
  if (header_size > kMaxSafetensorsHeaderBytes) {
    return Status::Errorf("model header is %llu bytes, more than the %llu-byte limit",
                          static_cast<unsigned long long>(header_size),
                          static_cast<unsigned long long>(kMaxSafetensorsHeaderBytes));
  }
  const char* header_text = reinterpret_cast<const char*>(bytes + 8);
  JsonValue header;
  if (!ParseJson(header_text, header_text + header_size, &header) || !header.is_object()) {
    return Status::Error("model header is not a valid JSON object (not a safetensors file?)");
  }
  Safetensors file;
  file.data = bytes + 8 + header_size;
  file.data_size = size - 8 - header_size;
  for (size_t i = 0; i < header.size(); ++i) {
    const std::string& key = header.keys()[i];
    const JsonValue& value = header[i];
    if (key == "__metadata__") {
      if (!value.is_object()) return Status::Error("__metadata__ must be an object");
      for (size_t m = 0; m < value.size(); ++m) {
        if (!value[m].is_string()) {
          return Status::Errorf("__metadata__.%s must be a string", value.keys()[m].c_str());
        }
        file.metadata[value.keys()[m]] = value[m].as_string();
      }
      continue;
    }
    TensorInfo info;
    DIGITS_RETURN_IF_ERROR(ParseTensorInfo(key, value, file.data_size, &info));
    file.tensors[key] = std::move(info);
  }
  // No two tensors may share bytes: byte ranges sorted by start must not overlap.
  std::vector<std::pair<const std::string*, const TensorInfo*>> by_offset;
  for (const auto& entry : file.tensors) by_offset.push_back({&entry.first, &entry.second});
  std::sort(by_offset.begin(), by_offset.end(),
            [](const auto& a, const auto& b) { return a.second->begin < b.second->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    if (by_offset[i].second->begin < by_offset[i - 1].second->end) {
      return Status::Errorf("tensors '%s' and '%s' overlap in the data buffer",
                            by_offset[i - 1].first->c_str(), by_offset[i].first->c_str());
    }
  }
  *out = std::move(file);
  return Status::Ok();
}

// The entry of tensor `name`, after checking it exists, has `shape` and one of two dtypes.
static Status FindTensor(const Safetensors& file, const std::string& name,
                         const std::vector<int64_t>& shape, Dtype a, Dtype b,
                         const TensorInfo** out) {
  auto it = file.tensors.find(name);
  if (it == file.tensors.end()) return Status::Errorf("tensor '%s' is missing", name.c_str());
  const TensorInfo& t = it->second;
  if (t.dtype != a && t.dtype != b) {
    const std::string wanted =
        a == b ? DtypeName(a) : std::string(DtypeName(a)) + " or " + DtypeName(b);
    return Status::Errorf("tensor '%s' is %s, the architecture needs %s", name.c_str(),
                          DtypeName(t.dtype), wanted.c_str());
  }
  if (t.shape != shape) {
    return Status::Errorf("tensor '%s' has shape %s, the architecture needs %s", name.c_str(),
                          ShapeString(t.shape).c_str(), ShapeString(shape).c_str());
  }
  *out = &t;
  return Status::Ok();
}

Status ReadTensor(const Safetensors& file, const std::string& name,
                  const std::vector<int64_t>& shape, std::vector<float>* out) {
  const TensorInfo* info = nullptr;
  DIGITS_RETURN_IF_ERROR(FindTensor(file, name, shape, Dtype::kF32, Dtype::kF16, &info));
  const TensorInfo& t = *info;
  const size_t count = (t.end - t.begin) / DtypeSize(t.dtype);
  std::vector<float> values(count);
  const uint8_t* p = file.data + t.begin;
  // One loop per dtype, not a dtype test per element: in the browser this runs once at start-up,
  // in V8's baseline-tier code, where every instruction counts.
  if (t.dtype == Dtype::kF16) {
    for (size_t i = 0; i < count; ++i) {
      values[i] = HalfBitsToFloat(static_cast<uint16_t>(p[2 * i] | (p[2 * i + 1] << 8)));
    }
  } else {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (size_t i = 0; i < count; ++i) {
      const uint32_t bits =
          static_cast<uint32_t>(p[4 * i]) | (static_cast<uint32_t>(p[4 * i + 1]) << 8) |
          (static_cast<uint32_t>(p[4 * i + 2]) << 16) | (static_cast<uint32_t>(p[4 * i + 3]) << 24);
      std::memcpy(&values[i], &bits, 4);
    }
#else
    if (count) std::memcpy(values.data(), p, count * 4);  // safetensors is little-endian, as we are
#endif
  }
  for (size_t i = 0; i < count; ++i) {
    if (!std::isfinite(values[i])) {
      return Status::Errorf("tensor '%s' has a non-finite value (%s) at element %zu", name.c_str(),
                            std::isnan(values[i]) ? "NaN" : "Inf", i);
    }
  }
  *out = std::move(values);
  return Status::Ok();
}

Status ReadTensorI8(const Safetensors& file, const std::string& name,
                    const std::vector<int64_t>& shape, std::vector<int8_t>* out) {
  const TensorInfo* t = nullptr;
  DIGITS_RETURN_IF_ERROR(FindTensor(file, name, shape, Dtype::kI8, Dtype::kI8, &t));
  out->resize(t->end - t->begin);
  if (!out->empty()) std::memcpy(out->data(), file.data + t->begin, out->size());
  return Status::Ok();
}

Status ReadTensorI32(const Safetensors& file, const std::string& name,
                     const std::vector<int64_t>& shape, std::vector<int32_t>* out) {
  const TensorInfo* t = nullptr;
  DIGITS_RETURN_IF_ERROR(FindTensor(file, name, shape, Dtype::kI32, Dtype::kI32, &t));
  const size_t count = (t->end - t->begin) / 4;
  std::vector<int32_t> values(count);
  const uint8_t* p = file.data + t->begin;
  for (size_t i = 0; i < count; ++i) {  // little-endian, whatever the host
    values[i] = static_cast<int32_t>(
        static_cast<uint32_t>(p[4 * i]) | (static_cast<uint32_t>(p[4 * i + 1]) << 8) |
        (static_cast<uint32_t>(p[4 * i + 2]) << 16) | (static_cast<uint32_t>(p[4 * i + 3]) << 24));
  }
  *out = std::move(values);
  return Status::Ok();
}

}  // namespace digits
