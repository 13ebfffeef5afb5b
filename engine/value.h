// Typed values stored under a key.
//
// This layer has strings and counters; hashes, sorted sets and streams join as further
// alternatives of the variant. A counter is an int64 kept natively so increments need no
// parsing; reading it as a string renders it in decimal, as Redis does for integer strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace hotpath {

enum class ValueType : uint8_t { kString, kCounter };

std::string_view ValueTypeName(ValueType type);

class Value {
 public:
  static Value String(std::string bytes) { return Value(std::move(bytes)); }
  static Value Counter(int64_t count) { return Value(count); }

  ValueType type() const { return static_cast<ValueType>(data_.index()); }
  const std::string& string() const { return std::get<std::string>(data_); }
  int64_t counter() const { return std::get<int64_t>(data_); }

  // Heap bytes owned beyond sizeof(Value), for memory accounting.
  size_t HeapBytes() const;

  friend bool operator==(const Value& a, const Value& b) { return a.data_ == b.data_; }

 private:
  explicit Value(std::string bytes) : data_(std::move(bytes)) {}
  explicit Value(int64_t count) : data_(count) {}

  // Alternative order matches ValueType.
  std::variant<std::string, int64_t> data_;
};

// Heap bytes of a std::string's buffer (0 while the bytes fit the small-string buffer).
size_t StringHeapBytes(const std::string& s);

}  // namespace hotpath
