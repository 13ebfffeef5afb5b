// Early-return helpers for absl::Status and absl::StatusOr<T>.
//
// Abseil 20220623 ships no status macros, so these are the project's own. They are the only
// way code here propagates errors; exceptions are not used.
//
//   absl::Status Load() {
//     HP_RETURN_IF_ERROR(Open());
//     HP_ASSIGN_OR_RETURN(Header header, ReadHeader());
//     ...
//   }
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define HP_STATUS_CONCAT_INNER_(a, b) a##b
#define HP_STATUS_CONCAT_(a, b) HP_STATUS_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if `expr` is not OK.
#define HP_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status hp_status_ = (expr);      \
    if (!hp_status_.ok()) return hp_status_; \
  } while (false)

// Evaluates `rexpr` (a StatusOr<T>); returns its status if not OK, else moves the value into
// the declaration `lhs`.
#define HP_ASSIGN_OR_RETURN(lhs, rexpr) \
  HP_ASSIGN_OR_RETURN_IMPL_(HP_STATUS_CONCAT_(hp_statusor_, __LINE__), lhs, rexpr)

#define HP_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                              \
  if (!statusor.ok()) return statusor.status();         \
  lhs = std::move(statusor).value()
