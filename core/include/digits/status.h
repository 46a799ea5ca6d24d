// Status: the core's error value. The core never throws (it is built without exceptions so the
// same code runs in WebAssembly); every fallible call returns a Status whose message says what is
// wrong, in words a user of the CLI or the page can act on.
#pragma once

#include <string>
#include <utility>

namespace digits {

class Status {
 public:
  Status() = default;  // ok
  static Status Ok() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message)); }
  // printf-style; the message is truncated at 1 KiB.
  static Status Errorf(const char* format, ...) __attribute__((format(printf, 1, 2)));

  bool ok() const { return !failed_; }
  const std::string& message() const { return message_; }
  // Prefixes the message with context ("conv1.weight: " + message). No-op on ok.
  Status Context(const std::string& prefix) const;

 private:
  explicit Status(std::string message) : failed_(true), message_(std::move(message)) {}
  bool failed_ = false;
  std::string message_;
};

}  // namespace digits

// Returns early from the calling function when `expr` yields an error Status.
#define DIGITS_RETURN_IF_ERROR(expr)   \
  do {                                 \
    ::digits::Status status_ = (expr); \
    if (!status_.ok()) return status_; \
  } while (0)
