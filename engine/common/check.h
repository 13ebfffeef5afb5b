// HP_DCHECK asserts an internal invariant in debug builds; it compiles to nothing with NDEBUG.
// Input, disk and network errors are never checked this way: they are absl::Status.
#pragma once

#include <cassert>

#define HP_DCHECK(condition) assert(condition)
