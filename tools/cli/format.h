// How the `hotpath` CLI prints answers: aligned tables by default, JSON with --json.
//
// Tables are for people: timestamps in UTC (RFC 3339, milliseconds), durations as "1m30s"
// (to the millisecond from a second up, the microsecond below),
// bytes as text when printable and C-escaped otherwise. JSON is protobuf's canonical mapping
// of the response, with the .proto field names and every field present, for scripts (jq).
//
// Thread safety: none.
#pragma once

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "google/protobuf/duration.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"

namespace hotpath::cli {

// Columns padded to the widest cell, headers in capitals.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  // A row with fewer cells than headers is padded with empty ones.
  void AddRow(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// Every field of `message` as FIELD / VALUE rows, nested messages flattened with dotted names
// ("persistence.fsync"), maps as name[key], repeated fields as name[i]. Scalars print even when
// zero (a count of 0 is an answer); unset messages are left out.
void PrintFields(std::ostream& out, const google::protobuf::Message& message);

// One line of JSON (protobuf's JSON mapping with the .proto field names).
std::string ToJson(const google::protobuf::Message& message);

std::string FormatTime(const google::protobuf::Timestamp& time);
std::string FormatDuration(const google::protobuf::Duration& duration);
// Text as is when it is valid UTF-8 without control characters; C-escaped otherwise.
std::string Printable(const std::string& bytes);

}  // namespace hotpath::cli
