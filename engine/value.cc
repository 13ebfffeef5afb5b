#include "engine/value.h"

#include "engine/common/check.h"

namespace hotpath {

const char* ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kString:
      return "string";
    case ValueType::kCounter:
      return "counter";
    case ValueType::kLimiter:
      return "limiter";
    case ValueType::kHash:
      return "hash";
    case ValueType::kSortedSet:
      return "sorted set";
    case ValueType::kStream:
      return "stream";
  }
  return "unknown";
}

Value Value::SmallCopy() const {
  HP_DCHECK(small());
  switch (type()) {
    case ValueType::kString:
      return String(string());
    case ValueType::kCounter:
      return Counter(counter());
    default:
      return Limiter(limiter());
  }
}

size_t Value::HeapBytes() const {
  switch (type()) {
    case ValueType::kString:
      return StringHeapBytes(string());
    case ValueType::kCounter:
    case ValueType::kLimiter:
      return 0;
    case ValueType::kHash:
      return sizeof(Hash) + hash().HeapBytes();
    case ValueType::kSortedSet:
      return sorted_set().MemoryBytes();
    case ValueType::kStream:
      return sizeof(Stream) + stream().HeapBytes();
  }
  return 0;
}

}  // namespace hotpath
