#include "persistence/manifest.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/common/absl_view.h"
#include "engine/common/status_macros.h"
#include "engine/slot.h"
#include "persistence/crc32c.h"

namespace hotpath {
namespace {

constexpr char kHeader[] = "hotpath-manifest 1";
// Far beyond any real count of rewrites, and far from overflowing NextNumber.
constexpr uint64_t kMaxFileNumber = uint64_t{1} << 60;

// The number in "<prefix><n><suffix>", if `name` is exactly that.
std::optional<uint64_t> NumberIn(std::string_view name, std::string_view prefix,
                                 std::string_view suffix) {
  if (name.size() <= prefix.size() + suffix.size() || name.substr(0, prefix.size()) != prefix ||
      name.substr(name.size() - suffix.size()) != suffix) {
    return std::nullopt;
  }
  const std::string_view digits =
      name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  uint64_t number = 0;
  if (digits[0] == '0' || !absl::SimpleAtoi(AbslView(digits), &number) || number > kMaxFileNumber) {
    return std::nullopt;
  }
  return number;
}

}  // namespace

std::string Manifest::BaseName(uint64_t number) { return absl::StrCat("base.", number, ".rdb"); }
std::string Manifest::SegmentName(uint64_t number) { return absl::StrCat("incr.", number, ".aof"); }

uint64_t Manifest::NextNumber() const {
  uint64_t last = base.value_or(0);
  if (!segments.empty()) last = std::max(last, segments.back());
  return last + 1;
}

std::vector<std::string> Manifest::Files() const {
  std::vector<std::string> files;
  if (base.has_value()) files.push_back(BaseName(*base));
  for (uint64_t segment : segments) files.push_back(SegmentName(segment));
  return files;
}

std::string EncodeManifest(const Manifest& manifest) {
  std::string text = absl::StrCat(kHeader, "\nshards ", manifest.shards, "\n");
  if (manifest.base.has_value()) {
    absl::StrAppend(&text, "base ", Manifest::BaseName(*manifest.base), "\n");
  }
  for (uint64_t segment : manifest.segments) {
    absl::StrAppend(&text, "segment ", Manifest::SegmentName(segment), "\n");
  }
  absl::StrAppend(&text, "checksum ", absl::Hex(Crc32c(text), absl::kZeroPad8), "\n");
  return text;
}

absl::StatusOr<Manifest> ParseManifest(std::string_view text, std::string_view name) {
  int line_number = 0;
  auto bad = [&](std::string_view why) {
    return absl::DataLossError(
        absl::StrCat(AbslView(name), " line ", line_number, ": ", AbslView(why)));
  };
  // The checksum line covers every byte before it.
  const size_t checksum_at = text.rfind("checksum ");
  if (text.empty() || text.back() != '\n' || checksum_at == std::string_view::npos ||
      checksum_at == 0 || text[checksum_at - 1] != '\n') {
    return absl::DataLossError(absl::StrCat(AbslView(name), ": no checksum line at the end"));
  }
  uint32_t expected = 0;
  const std::string_view hex = text.substr(checksum_at + 9, text.size() - checksum_at - 10);
  if (hex.size() != 8 || !absl::SimpleHexAtoi(AbslView(hex), &expected) ||
      Crc32c(text.substr(0, checksum_at)) != expected) {
    return absl::DataLossError(absl::StrCat(AbslView(name), ": checksum mismatch"));
  }

  Manifest manifest;
  bool have_shards = false;
  for (absl::string_view line :
       absl::StrSplit(absl::string_view(text.data(), checksum_at - 1), '\n')) {
    ++line_number;
    if (line_number == 1) {
      if (line != kHeader) return bad(absl::StrCat("expected \"", kHeader, "\""));
      continue;
    }
    const std::pair<absl::string_view, absl::string_view> field =
        absl::StrSplit(line, absl::MaxSplits(' ', 1));
    if (field.first == "shards" && !have_shards) {
      if (!absl::SimpleAtoi(field.second, &manifest.shards) || manifest.shards == 0 ||
          manifest.shards > kSlotCount || (manifest.shards & (manifest.shards - 1)) != 0) {
        return bad("shards must be a power of two up to 16384");
      }
      have_shards = true;
    } else if (field.first == "base") {
      if (manifest.base.has_value()) return bad("a second base");
      if (!manifest.segments.empty()) return bad("the base must come before the segments");
      manifest.base =
          NumberIn(std::string_view(field.second.data(), field.second.size()), "base.", ".rdb");
      if (!manifest.base.has_value()) return bad("a base is named base.<n>.rdb");
    } else if (field.first == "segment") {
      std::optional<uint64_t> number =
          NumberIn(std::string_view(field.second.data(), field.second.size()), "incr.", ".aof");
      if (!number.has_value()) return bad("a segment is named incr.<n>.aof");
      if (!manifest.segments.empty() && *number <= manifest.segments.back()) {
        return bad("segment numbers must increase");
      }
      if (manifest.base.has_value() && *number < *manifest.base) {
        return bad("a segment older than the base");
      }
      manifest.segments.push_back(*number);
    } else {
      return bad(absl::StrCat("unexpected \"", line, "\""));
    }
  }
  ++line_number;
  if (!have_shards) return bad("no shards line");
  if (manifest.segments.empty()) return bad("no segment (every state has one being written)");
  return manifest;
}

absl::Status WriteManifest(FileSystem& fs, const std::string& dir, const Manifest& manifest,
                           bool* renamed) {
  if (renamed != nullptr) *renamed = false;
  const std::string path = absl::StrCat(dir, "/", kManifestName);
  const std::string temp = path + ".tmp";
  absl::Status removed = fs.Remove(temp);
  if (!removed.ok() && !absl::IsNotFound(removed)) return removed;
  HP_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, fs.OpenForAppend(temp));
  absl::Status status = file->Append(EncodeManifest(manifest));
  if (status.ok()) status = file->Sync();
  absl::Status closed = file->Close();
  if (status.ok()) status = closed;
  if (status.ok()) status = fs.Rename(temp, path);
  if (!status.ok()) {
    (void)fs.Remove(temp);
    return status;
  }
  if (renamed != nullptr) *renamed = true;
  return fs.SyncDir(dir);
}

absl::StatusOr<Manifest> ReadManifest(FileSystem& fs, const std::string& dir) {
  const std::string path = absl::StrCat(dir, "/", kManifestName);
  HP_ASSIGN_OR_RETURN(const std::string text, fs.ReadFile(path));
  HP_ASSIGN_OR_RETURN(Manifest manifest, ParseManifest(text, path));
  HP_ASSIGN_OR_RETURN(const std::vector<std::string> present, fs.List(dir));
  for (const std::string& file : manifest.Files()) {
    if (!std::binary_search(present.begin(), present.end(), file)) {
      return absl::DataLossError(absl::StrCat(path, " lists ", file, ", which is missing"));
    }
  }
  return manifest;
}

}  // namespace hotpath
