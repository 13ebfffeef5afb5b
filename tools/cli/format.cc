#include "tools/cli/format.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"

namespace hotpath::cli {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

using Rows = std::vector<std::pair<std::string, std::string>>;

bool IsValidUtf8(const std::string& text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t length = c < 0x80           ? 1
                          : (c >> 5) == 0x6  ? 2
                          : (c >> 4) == 0xE  ? 3
                          : (c >> 3) == 0x1E ? 4
                                             : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2) return false;
    }
    if (length == 1 && (c < 0x20 || c == 0x7F) && c != '\t') return false;
    i += length;
  }
  return true;
}

std::string Scalar(const Message& message, const FieldDescriptor* field, int index) {
  const Reflection* r = message.GetReflection();
  const bool rep = index >= 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(rep ? r->GetRepeatedInt32(message, field, index)
                              : r->GetInt32(message, field));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(rep ? r->GetRepeatedInt64(message, field, index)
                              : r->GetInt64(message, field));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(rep ? r->GetRepeatedUInt32(message, field, index)
                              : r->GetUInt32(message, field));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(rep ? r->GetRepeatedUInt64(message, field, index)
                              : r->GetUInt64(message, field));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrCat(rep ? r->GetRepeatedDouble(message, field, index)
                              : r->GetDouble(message, field));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return absl::StrCat(rep ? r->GetRepeatedFloat(message, field, index)
                              : r->GetFloat(message, field));
    case FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(message, field, index) : r->GetBool(message, field))
                 ? "true"
                 : "false";
    case FieldDescriptor::CPPTYPE_ENUM:
      return (rep ? r->GetRepeatedEnum(message, field, index) : r->GetEnum(message, field))->name();
    case FieldDescriptor::CPPTYPE_STRING:
      return Printable(rep ? r->GetRepeatedString(message, field, index)
                           : r->GetString(message, field));
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return "";
}

void Flatten(const Message& message, const std::string& prefix, Rows* rows);

// A message value: Timestamp and Duration as one cell, anything else flattened under `name`.
void MessageValue(const Message& value, const std::string& name, Rows* rows) {
  const std::string& type = value.GetDescriptor()->full_name();
  if (type == "google.protobuf.Timestamp") {
    rows->emplace_back(name, FormatTime(static_cast<const google::protobuf::Timestamp&>(value)));
  } else if (type == "google.protobuf.Duration") {
    rows->emplace_back(name, FormatDuration(static_cast<const google::protobuf::Duration&>(value)));
  } else {
    Flatten(value, name + ".", rows);
  }
}

void Flatten(const Message& message, const std::string& prefix, Rows* rows) {
  const Reflection* r = message.GetReflection();
  const auto* descriptor = message.GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    const std::string name = prefix + field->name();
    if (field->is_map()) {
      // Sorted by key: the map's own order is a hash order, different from run to run.
      Rows entries;
      for (int k = 0; k < r->FieldSize(message, field); ++k) {
        const Message& entry = r->GetRepeatedMessage(message, field, k);
        const auto* key = entry.GetDescriptor()->map_key();
        const auto* value = entry.GetDescriptor()->map_value();
        const std::string entry_name = absl::StrCat(name, "[", Scalar(entry, key, -1), "]");
        if (value->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          MessageValue(entry.GetReflection()->GetMessage(entry, value), entry_name, &entries);
        } else {
          entries.emplace_back(entry_name, Scalar(entry, value, -1));
        }
      }
      std::sort(entries.begin(), entries.end());
      rows->insert(rows->end(), entries.begin(), entries.end());
    } else if (field->is_repeated()) {
      for (int k = 0; k < r->FieldSize(message, field); ++k) {
        const std::string item = absl::StrCat(name, "[", k, "]");
        if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          MessageValue(r->GetRepeatedMessage(message, field, k), item, rows);
        } else {
          rows->emplace_back(item, Scalar(message, field, k));
        }
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (r->HasField(message, field)) MessageValue(r->GetMessage(message, field), name, rows);
    } else if (!field->containing_oneof() || r->HasField(message, field)) {
      rows->emplace_back(name, Scalar(message, field, -1));
    }
  }
}

}  // namespace

void Table::Print(std::ostream& out) const {
  std::vector<size_t> widths(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) widths[c] = headers_[c].size();
  for (const auto& row : rows_) {
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c) {
      widths[c] = std::max(widths[c], row[c].size());
    }
  }
  auto print_row = [&](const std::vector<std::string>& cells, bool upper) {
    std::string line;
    for (size_t c = 0; c < widths.size(); ++c) {
      std::string cell = c < cells.size() ? cells[c] : "";
      if (upper) absl::AsciiStrToUpper(&cell);
      line += cell;
      if (c + 1 < widths.size()) line += std::string(widths[c] - cell.size() + 2, ' ');
    }
    out << line << "\n";
  };
  print_row(headers_, true);
  for (const auto& row : rows_) print_row(row, false);
}

void PrintFields(std::ostream& out, const Message& message) {
  Rows rows;
  Flatten(message, "", &rows);
  Table table({"field", "value"});
  for (auto& [name, value] : rows) table.AddRow({name, value});
  table.Print(out);
}

std::string ToJson(const Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  // Serializing a valid message cannot fail; an empty object is still valid JSON if it did.
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) json = "{}";
  return json;
}

std::string FormatTime(const google::protobuf::Timestamp& time) {
  const absl::Time t = absl::FromUnixSeconds(time.seconds()) + absl::Nanoseconds(time.nanos());
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

std::string FormatDuration(const google::protobuf::Duration& duration) {
  const absl::Duration d = absl::Seconds(duration.seconds()) + absl::Nanoseconds(duration.nanos());
  // Milliseconds for seconds and more, microseconds below: "19.965s", "1.234ms".
  return absl::FormatDuration(
      absl::Trunc(d, d >= absl::Seconds(1) ? absl::Milliseconds(1) : absl::Microseconds(1)));
}

std::string Printable(const std::string& bytes) {
  return IsValidUtf8(bytes) ? bytes : absl::CHexEscape(bytes);
}

}  // namespace hotpath::cli
