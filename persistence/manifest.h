// Manifest: the list of files that make up a data directory's state (docs/persistence.md,
// "Manifest"): at most one base snapshot and one or more numbered log segments, the last of
// which receives new records. Replacing the MANIFEST file (write a temporary, sync, rename,
// sync the directory) is the one atomic step of every layout change.
//
//   Manifest m{.shards = 16, .segments = {1}};
//   HP_RETURN_IF_ERROR(WriteManifest(fs, dir, m));
//   HP_ASSIGN_OR_RETURN(Manifest read, ReadManifest(fs, dir));  // checks the files exist
//
// Errors: a manifest that is malformed, fails its checksum, names a file twice or out of
// order, has no segment or two bases, or names a missing file is DataLoss naming the
// manifest (and line); a missing MANIFEST is NotFound.
// Thread safety: the functions are pure or go through the FileSystem.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "persistence/file_system.h"

namespace hotpath {

inline constexpr char kManifestName[] = "MANIFEST";

struct Manifest {
  uint32_t shards = 0;             // the shard count the files' sequences refer to
  std::optional<uint64_t> base;    // base.<n>.rdb
  std::vector<uint64_t> segments;  // incr.<n>.aof, increasing; the last is the one written

  static std::string BaseName(uint64_t number);
  static std::string SegmentName(uint64_t number);
  // A number no file of this manifest uses yet: for the next segment or base.
  uint64_t NextNumber() const;
  // The names of every file the manifest lists, base first.
  std::vector<std::string> Files() const;
};

std::string EncodeManifest(const Manifest& manifest);
// `name` is used in error messages.
absl::StatusOr<Manifest> ParseManifest(std::string_view text, std::string_view name);

// Atomically replaces dir/MANIFEST. `renamed`, if given, says whether the new manifest took
// the name, which it may have even when the error is from the directory sync that follows.
absl::Status WriteManifest(FileSystem& fs, const std::string& dir, const Manifest& manifest,
                           bool* renamed = nullptr);
// Reads and checks dir/MANIFEST, and that every file it lists exists.
absl::StatusOr<Manifest> ReadManifest(FileSystem& fs, const std::string& dir);

}  // namespace hotpath
