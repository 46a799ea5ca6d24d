#include "json.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <utility>

namespace digits {

const JsonValue* JsonValue::Find(const std::string& key) const {
  if (type_ != Type::kObject) return nullptr;
  auto it = std::lower_bound(keys_.begin(), keys_.end(), key);
  if (it == keys_.end() || *it != key) return nullptr;
  return &values_[it - keys_.begin()];
}

// Recursive descent over the bytes; every function returns false at the first error.
class JsonParser {
 public:
  JsonParser(const char* begin, const char* end) : p_(begin), end_(end) {}

  bool Document(JsonValue* out) {
    if (end_ - p_ >= 3 && Byte(0) == 0xEF && Byte(1) == 0xBB && Byte(2) == 0xBF) p_ += 3;
    SkipSpace();
    if (!Value(out, 0)) return false;
    SkipSpace();
    return p_ == end_ || *p_ == '\0';  // nlohmann's lexer reads a NUL byte as the end
  }

 private:
  unsigned Byte(ptrdiff_t i) const { return static_cast<unsigned char>(p_[i]); }

  void SkipSpace() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }

  bool Literal(const char* word) {
    for (; *word; ++word, ++p_) {
      if (p_ == end_ || *p_ != *word) return false;
    }
    return true;
  }

  bool Value(JsonValue* out, int depth) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '{':
        return Object(out, depth + 1);
      case '[':
        return Array(out, depth + 1);
      case '"':
        out->type_ = JsonValue::Type::kString;
        return String(&out->string_);
      case 't':
        out->type_ = JsonValue::Type::kBool;
        out->bool_ = true;
        return Literal("true");
      case 'f':
        out->type_ = JsonValue::Type::kBool;
        return Literal("false");
      case 'n':
        return Literal("null");
      default:
        return Number(out);
    }
  }

  bool Array(JsonValue* out, int depth) {
    if (depth > kMaxJsonDepth) return false;
    out->type_ = JsonValue::Type::kArray;
    ++p_;  // '['
    SkipSpace();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      out->values_.emplace_back();
      SkipSpace();
      if (!Value(&out->values_.back(), depth)) return false;
      SkipSpace();
      if (p_ == end_) return false;
      if (*p_ == ']') {
        ++p_;
        return true;
      }
      if (*p_++ != ',') return false;
    }
  }

  bool Object(JsonValue* out, int depth) {
    if (depth > kMaxJsonDepth) return false;
    out->type_ = JsonValue::Type::kObject;
    ++p_;  // '{'
    SkipSpace();
    std::vector<std::string> keys;
    std::vector<JsonValue> values;
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    for (;;) {
      SkipSpace();
      if (p_ == end_ || *p_ != '"') return false;
      keys.emplace_back();
      if (!String(&keys.back())) return false;
      SkipSpace();
      if (p_ == end_ || *p_++ != ':') return false;
      SkipSpace();
      values.emplace_back();
      if (!Value(&values.back(), depth)) return false;
      SkipSpace();
      if (p_ == end_) return false;
      if (*p_ == '}') {
        ++p_;
        break;
      }
      if (*p_++ != ',') return false;
    }
    // Sorted by key; of equal keys the last one stays (as in nlohmann's std::map).
    std::vector<size_t> order(keys.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(), [&keys](size_t a, size_t b) {
      const int c = keys[a].compare(keys[b]);
      return c < 0 || (c == 0 && a < b);
    });
    for (size_t i = 0; i < order.size(); ++i) {
      if (i + 1 < order.size() && keys[order[i]] == keys[order[i + 1]]) continue;
      out->keys_.push_back(std::move(keys[order[i]]));
      out->values_.push_back(std::move(values[order[i]]));
    }
    return true;
  }

  // Four hex digits after "\u".
  bool Hex4(unsigned* out) {
    if (end_ - p_ < 4) return false;
    unsigned v = 0;
    for (int i = 0; i < 4; ++i, ++p_) {
      const char c = *p_;
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<unsigned>(c - 'A' + 10);
      } else {
        return false;
      }
    }
    *out = v;
    return true;
  }

  static void AppendUtf8(unsigned cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  // One UTF-8 sequence of 2 to 4 bytes starting with lead byte `b` (RFC 3629: no overlong forms,
  // no surrogates, nothing above U+10FFFF), copied to out.
  bool Utf8Sequence(unsigned b, std::string* out) {
    int n = 0;
    unsigned lo = 0x80, hi = 0xBF;  // the range of the second byte
    if (b >= 0xC2 && b <= 0xDF) {
      n = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      n = 2;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      n = 3;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (end_ - p_ < 1 + n) return false;
    for (int i = 1; i <= n; ++i) {
      const unsigned c = Byte(i);
      if (c < (i == 1 ? lo : 0x80) || c > (i == 1 ? hi : 0xBF)) return false;
    }
    out->append(p_, p_ + 1 + n);
    p_ += 1 + n;
    return true;
  }

  bool String(std::string* out) {
    ++p_;  // '"'
    for (;;) {
      if (p_ == end_) return false;
      const unsigned b = Byte(0);
      if (b == '"') {
        ++p_;
        return true;
      }
      if (b < 0x20) return false;
      if (b >= 0x80) {
        if (!Utf8Sequence(b, out)) return false;
        continue;
      }
      ++p_;
      if (b != '\\') {
        out->push_back(static_cast<char>(b));
        continue;
      }
      if (p_ == end_) return false;
      const char e = *p_++;
      switch (e) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          unsigned cp = 0;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return false;  // a low surrogate first
          if (cp >= 0xD800 && cp <= 0xDBFF) {              // a high one: its low one must follow
            unsigned low = 0;
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
            p_ += 2;
            if (!Hex4(&low) || low < 0xDC00 || low > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          return false;
      }
    }
  }

  bool Digit() const { return p_ != end_ && *p_ >= '0' && *p_ <= '9'; }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  bool Number(JsonValue* out) {
    const char* start = p_;
    const bool negative = *p_ == '-';
    if (negative) ++p_;
    if (!Digit()) return false;
    if (*p_ == '0') {
      ++p_;
    } else {
      while (Digit()) ++p_;
    }
    bool integer = true;
    if (p_ != end_ && *p_ == '.') {
      integer = false;
      ++p_;
      if (!Digit()) return false;
      while (Digit()) ++p_;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      integer = false;
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!Digit()) return false;
      while (Digit()) ++p_;
    }
    if (integer) {
      // Magnitude in 64 bits; beyond that (or below INT64_MIN) the number is a double.
      uint64_t magnitude = 0;
      bool fits = true;
      for (const char* d = start + (negative ? 1 : 0); d != p_; ++d) {
        const uint64_t digit = static_cast<uint64_t>(*d - '0');
        if (magnitude > (UINT64_MAX - digit) / 10) {
          fits = false;
          break;
        }
        magnitude = magnitude * 10 + digit;
      }
      if (fits && !negative) {
        out->type_ = JsonValue::Type::kUnsigned;
        out->unsigned_ = magnitude;
        return true;
      }
      if (fits && magnitude <= uint64_t{1} << 63) {
        out->type_ = JsonValue::Type::kInteger;
        out->int_ = magnitude == uint64_t{1} << 63 ? INT64_MIN : -static_cast<int64_t>(magnitude);
        return true;
      }
    }
    const std::string text(start, p_);  // strtod needs a terminated string
    out->type_ = JsonValue::Type::kFloat;
    out->float_ = std::strtod(text.c_str(), nullptr);
    return std::isfinite(out->float_);  // 1e400: refused, as nlohmann does
  }

  const char* p_;
  const char* end_;
};

bool ParseJson(const char* begin, const char* end, JsonValue* out) {
  *out = JsonValue();
  return JsonParser(begin, end).Document(out);
}

}  // namespace digits
