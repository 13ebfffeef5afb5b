// HotpathServer: composes hotpathd from the layers: engine keyspace and expiry sweeper, the
// data directory, gRPC services, health, reflection and the Prometheus exposer.
//
// Lifecycle:
//   Start    binds the gRPC and metrics ports, reports every service NOT_SERVING while state
//            loads, then SERVING. Fails with a Status naming the address or path at fault.
//   Shutdown health goes NOT_SERVING (Watch streams end), the gRPC server stops accepting and
//            lets in-flight calls finish until drain_timeout, then cancels the rest; the sweeper
//            stops; the append-only log is written and synced and the data directory released.
//
// With persistence on, the data directory (persistence/store.h) holds a base snapshot and log
// segments; every mutation is logged under the configured fsync policy, Start recovers the
// directory first (cutting a torn tail, refusing corruption with the file and offset), and
// the log is rewritten in the background past its growth thresholds or on AdminService/Rewrite.
//
// Thread safety: Start and Shutdown from one owning thread; the accessors from any thread.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "persistence/directory_recovery.h"
#include "services/server/config.h"

namespace hotpath {

class HotpathServer {
 public:
  static absl::StatusOr<std::unique_ptr<HotpathServer>> Start(const ServerConfig& config);
  ~HotpathServer();

  // Addresses actually bound (port 0 in the config becomes the chosen port).
  const std::string& grpc_address() const;
  const std::string& metrics_address() const;
  // Absolute data directory, or empty when persistence is off.
  const std::string& data_dir() const;

  // What recovery found at start (all zero with persistence off).
  const DirectoryRecoveryStats& recovery() const;

  // Loads the rate-limit policy files and the access file again (also done by itself when a
  // file changes). A file that fails to load leaves its version in force; the error names it.
  // Limiter state is kept.
  absl::Status ReloadFiles();

  // Idempotent. Returns when every call has finished or been cancelled and the log is synced;
  // the error if the log could not be written.
  absl::Status Shutdown();

  struct Parts;  // defined in server.cc

 private:
  explicit HotpathServer(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace hotpath
