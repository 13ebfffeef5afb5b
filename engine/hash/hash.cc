#include "engine/hash/hash.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/common/absl_view.h"
#include "engine/common/string_bytes.h"

namespace hotpath {
namespace {

void PutVarint(std::string& out, size_t n) {
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
}

size_t VarintSize(size_t n) {
  size_t bytes = 1;
  while (n >= 0x80) {
    n >>= 7;
    ++bytes;
  }
  return bytes;
}

size_t GetVarint(const std::string& in, size_t& at) {
  size_t n = 0;
  for (int shift = 0;; shift += 7) {
    const auto byte = static_cast<unsigned char>(in[at++]);
    n |= static_cast<size_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return n;
  }
}

bool ParseCanonicalInt64(std::string_view text, int64_t* out) {
  return absl::SimpleAtoi(AbslView(text), out) && absl::StrCat(*out) == text;
}

}  // namespace

absl::Status Hash::Validate(std::string_view field, std::string_view value) {
  if (field.empty()) return absl::InvalidArgumentError("field must not be empty");
  if (field.size() > kMaxFieldBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("field is ", field.size(), " bytes; the limit is ", kMaxFieldBytes));
  }
  if (value.size() > kMaxValueBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("value is ", value.size(), " bytes; the limit is ", kMaxValueBytes));
  }
  return absl::OkStatus();
}

Hash::Entry Hash::Decode(const std::string& buffer, size_t at) {
  Entry entry;
  entry.begin = at;
  const size_t field_size = GetVarint(buffer, at);
  entry.field = std::string_view(buffer).substr(at, field_size);
  at += field_size;
  const size_t value_size = GetVarint(buffer, at);
  entry.value = std::string_view(buffer).substr(at, value_size);
  entry.end = at + value_size;
  return entry;
}

void Hash::Append(std::string& buffer, std::string_view field, std::string_view value) {
  // Grow to the exact size, as Redis's listpack does: a compact hash is small and mostly read,
  // so the bytes matter more than the copy (at most 128 entries of 64 bytes). A fresh string
  // gets exactly what it reserves; growing in place would double the capacity.
  const size_t needed = buffer.size() + VarintSize(field.size()) + field.size() +
                        VarintSize(value.size()) + value.size();
  if (buffer.capacity() < needed) {
    std::string grown;
    grown.reserve(needed);
    grown.append(buffer);
    buffer.swap(grown);
  }
  PutVarint(buffer, field.size());
  buffer.append(field);
  PutVarint(buffer, value.size());
  buffer.append(value);
}

std::optional<Hash::Entry> Hash::FindCompact(std::string_view field) const {
  const std::string& buffer = std::get<std::string>(data_);
  for (size_t at = 0; at < buffer.size();) {
    const Entry entry = Decode(buffer, at);
    if (entry.field == field) return entry;
    at = entry.end;
  }
  return std::nullopt;
}

void Hash::ConvertToTable() {
  Table table;
  table.reserve(size_ + 1);
  table_string_bytes_ = 0;
  ForEach([&](std::string_view field, std::string_view value) {
    auto [it, inserted] = table.emplace(std::string(field), std::string(value));
    table_string_bytes_ += StringHeapBytes(it->first) + StringHeapBytes(it->second);
  });
  data_ = std::move(table);
}

bool Hash::Set(std::string_view field, std::string_view value) {
  if (const auto* buffer = std::get_if<std::string>(&data_)) {
    // A view into our own buffer (a value just read with Get) would move under the edit below.
    auto inside = [buffer](std::string_view v) {
      return !v.empty() && v.data() >= buffer->data() && v.data() < buffer->data() + buffer->size();
    };
    if (inside(field) || inside(value)) return Set(std::string(field), std::string(value));
  }
  if (compact()) {
    const bool fits = field.size() <= kCompactMaxBytes && value.size() <= kCompactMaxBytes;
    const std::optional<Entry> existing = FindCompact(field);
    if (fits && (existing.has_value() || size_ < kCompactMaxEntries)) {
      std::string& buffer = std::get<std::string>(data_);
      if (existing.has_value()) {
        if (existing->value.size() == value.size()) {
          // Same length: overwrite in place, nothing moves.
          buffer.replace(existing->end - value.size(), value.size(), value);
          return false;
        }
        buffer.erase(existing->begin, existing->end - existing->begin);
      }
      Append(buffer, field, value);
      if (!existing.has_value()) ++size_;
      return !existing.has_value();
    }
    ConvertToTable();
  }
  auto [it, inserted] = std::get<Table>(data_).try_emplace(std::string(field));
  if (inserted) {
    table_string_bytes_ += StringHeapBytes(it->first);
  } else {
    table_string_bytes_ -= StringHeapBytes(it->second);
  }
  it->second.assign(value);
  table_string_bytes_ += StringHeapBytes(it->second);
  if (inserted) ++size_;
  return inserted;
}

std::optional<std::string_view> Hash::Get(std::string_view field) const {
  if (compact()) {
    const std::optional<Entry> entry = FindCompact(field);
    if (!entry.has_value()) return std::nullopt;
    return entry->value;
  }
  const Table& table = std::get<Table>(data_);
  auto it = table.find(AbslView(field));
  if (it == table.end()) return std::nullopt;
  return std::string_view(it->second);
}

bool Hash::Delete(std::string_view field) {
  if (compact()) {
    const std::optional<Entry> entry = FindCompact(field);
    if (!entry.has_value()) return false;
    std::get<std::string>(data_).erase(entry->begin, entry->end - entry->begin);
  } else {
    Table& table = std::get<Table>(data_);
    auto it = table.find(AbslView(field));
    if (it == table.end()) return false;
    table_string_bytes_ -= StringHeapBytes(it->first) + StringHeapBytes(it->second);
    table.erase(it);
  }
  --size_;
  return true;
}

absl::StatusOr<int64_t> Hash::IncrementBy(std::string_view field, int64_t delta) {
  int64_t current = 0;
  if (std::optional<std::string_view> value = Get(field)) {
    if (!ParseCanonicalInt64(*value, &current)) {
      return absl::FailedPreconditionError(absl::StrCat("hash field value is not an integer"));
    }
  }
  int64_t next = 0;
  if (__builtin_add_overflow(current, delta, &next)) {
    return absl::OutOfRangeError(
        absl::StrCat("incrementing ", current, " by ", delta, " overflows int64"));
  }
  Set(field, absl::StrCat(next));
  return next;
}

size_t Hash::HeapBytes() const {
  if (const auto* buffer = std::get_if<std::string>(&data_)) return StringHeapBytes(*buffer);
  const Table& table = std::get<Table>(data_);
  return table.capacity() * (sizeof(Table::value_type) + 1) + table_string_bytes_;
}

}  // namespace hotpath
