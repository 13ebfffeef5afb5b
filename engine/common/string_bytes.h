// Memory accounting helper shared by the engine's structures.
#pragma once

#include <cstddef>
#include <string>

namespace hotpath {

// Heap bytes of a std::string's buffer: 0 while the bytes fit libstdc++'s 15-byte inline
// buffer, else the capacity plus the terminator.
inline size_t StringHeapBytes(const std::string& s) {
  return s.capacity() > 15 ? s.capacity() + 1 : 0;
}

}  // namespace hotpath
