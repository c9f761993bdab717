// Status: the result of an operation that can fail on bad input.
//
// Every function that reads something untrusted (a file, a peer's message, a user's
// argument) returns Status or Result<T> instead of throwing or crashing. A non-OK
// status carries a code and a human-readable message that names what was wrong.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace veil {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller passed something malformed
  kNotFound,            // a named file, op, tensor or model does not exist
  kCorrupt,             // a file or message failed validation (length, digest, range)
  kUnsupported,         // valid input that veil does not implement (e.g. an ONNX op)
  kIoError,             // the operating system refused a read or write
  kInternal,            // a bug in veil: an invariant did not hold
  kFailedPrecondition,  // valid request, but state does not allow it (e.g. a stale session)
  kUnavailable,         // a peer did not answer (down, unreachable or past its deadline)
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status Corrupt(std::string m) { return {StatusCode::kCorrupt, std::move(m)}; }
  static Status Unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
  static Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "Corrupt: truncated header" style, for logs and CLI errors.
  std::string ToString() const;

  // Returns a copy whose message is prefixed by `context: `.
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Result<T> holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace veil

#define VEIL_CONCAT_INNER(a, b) a##b
#define VEIL_CONCAT(a, b) VEIL_CONCAT_INNER(a, b)

// Returns early from the enclosing function if `expr` is not OK.
#define VEIL_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::veil::Status veil_status_ = (expr);        \
    if (!veil_status_.ok()) return veil_status_; \
  } while (0)

#define VEIL_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()

// `VEIL_ASSIGN_OR_RETURN(auto x, MakeX());`
#define VEIL_ASSIGN_OR_RETURN(lhs, expr) \
  VEIL_ASSIGN_OR_RETURN_IMPL(VEIL_CONCAT(veil_result_, __LINE__), lhs, expr)
