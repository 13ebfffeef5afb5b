// Debian's abseil 20220623 is built with its own absl::string_view (not an alias of
// std::string_view), so absl::StrCat and friends do not accept a std::string_view. The engine
// speaks std::string_view; this converts at the boundary without copying.
#pragma once

#include <string_view>

#include "absl/strings/string_view.h"

namespace hotpath {

inline absl::string_view AbslView(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace hotpath
