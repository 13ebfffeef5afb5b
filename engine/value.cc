#include "engine/value.h"

namespace hotpath {

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kString:
      return "string";
    case ValueType::kCounter:
      return "counter";
  }
  return "unknown";
}

size_t StringHeapBytes(const std::string& s) {
  // libstdc++ keeps up to 15 bytes inline.
  return s.capacity() > 15 ? s.capacity() + 1 : 0;
}

size_t Value::HeapBytes() const {
  return type() == ValueType::kString ? StringHeapBytes(string()) : 0;
}

}  // namespace hotpath
