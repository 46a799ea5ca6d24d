#include "digits/status.h"

#include <cstdarg>
#include <cstdio>

namespace digits {

Status Status::Errorf(const char* format, ...) {
  char buffer[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buffer, sizeof(buffer), format, args);
  va_end(args);
  return Status(buffer);
}

Status Status::Context(const std::string& prefix) const {
  if (ok()) return *this;
  return Status(prefix + message_);
}

}  // namespace digits
