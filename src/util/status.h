// Status and Result<T>: the one error type that crosses layer boundaries.
//
// A Status is either ok or carries a code and a message a user can read. Result<T> holds a T
// or a non-ok Status. Neither throws; callers check ok() before value().
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace topo {

enum class Code {
  kOk = 0,
  kInvalidArgument,  // the caller (often a user) passed something malformed
  kNotFound,
  kAlreadyExists,
  kCorruption,  // bytes that fail a strict decode or an integrity check
  kRejected,    // well-formed input that the rules refuse (bad signature, not allowed)
  kPermissionDenied,
  kIOError,
  kInternal,
};

const char* CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status Rejected(std::string m) { return {Code::kRejected, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
  static Status IOError(std::string m) { return {Code::kIOError, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "corruption: vertex: trailing bytes" style, for logs and tests.
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    assert(!status_.ok() && "Result built from an ok Status has no value");
    if (status_.ok()) status_ = Status::Internal("Result built from an ok Status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  // REQUIRES: ok()
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

}  // namespace topo

#define TOPO_CONCAT_INNER(a, b) a##b
#define TOPO_CONCAT(a, b) TOPO_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when `expr` is not ok.
#define TOPO_RETURN_IF_ERROR(expr)        \
  do {                                    \
    ::topo::Status _topo_st = (expr);     \
    if (!_topo_st.ok()) return _topo_st;  \
  } while (0)

// TOPO_ASSIGN_OR_RETURN(auto x, MakeX()); returns the error Status when MakeX() fails.
#define TOPO_ASSIGN_OR_RETURN(lhs, expr) \
  TOPO_ASSIGN_OR_RETURN_IMPL(TOPO_CONCAT(_topo_res_, __LINE__), lhs, expr)
#define TOPO_ASSIGN_OR_RETURN_IMPL(res, lhs, expr) \
  auto res = (expr);                               \
  if (!res.ok()) return res.status();              \
  lhs = std::move(res).value()
