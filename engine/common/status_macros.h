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
#include "absl/strings/str_cat.h"

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

namespace hotpath {

// `status` with `pieces` (a field path such as "checks[3].") before its message, same code.
// The pieces are joined only for an error, so a hot path may call it on every success.
template <typename... Pieces>
absl::Status Prefixed(const absl::Status& status, const Pieces&... pieces) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(pieces..., status.message()));
}

}  // namespace hotpath
