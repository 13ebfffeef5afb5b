// hotpathd's configuration: embedded defaults, a YAML file, HOTPATH_* environment variables and
// command-line flags, applied in that order (a later source overrides an earlier one):
//
//   defaults  <  --config file (or HOTPATH_CONFIG)  <  HOTPATH_* variables  <  flags
//
// Every option has one dotted name used by all three sources:
//   YAML      server: { grpc_address: "127.0.0.1:7070" }
//   env       HOTPATH_SERVER_GRPC_ADDRESS=127.0.0.1:7070
//   flag      --server.grpc_address=127.0.0.1:7070   (or --server.grpc_address 127.0.0.1:7070)
// Unknown YAML keys, flags or HOTPATH_* variables are errors, so a typo never passes silently.
// docs/configuration.md lists every option; `hotpathd --help` prints them with their defaults.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/log.h"
#include "services/server/scheduling.h"

namespace hotpath {

struct ServerConfig {
  std::string grpc_address = "127.0.0.1:7070";
  std::string metrics_address = "127.0.0.1:9464";
  // How long in-flight calls may run after SIGTERM before they are cancelled.
  absl::Duration drain_timeout = absl::Seconds(10);
  // Most calls (streams included) one client connection may have open at once (HTTP/2
  // SETTINGS_MAX_CONCURRENT_STREAMS); more wait for one to end.
  uint32_t max_streams_per_connection = 1000;
  // Most bytes of metadata (headers) a call may send; gRPC refuses a call with more.
  uint32_t max_metadata_bytes = 8 * 1024;
  // Whether gRPC may be served without TLS on an address other than loopback.
  bool allow_plaintext = false;
  // Whether gRPC server reflection is served (the schema only; it asks for no credentials).
  bool reflection = true;
  // The Linux scheduling policy of every thread (services/server/scheduling.h).
  SchedulingPolicy scheduling = SchedulingPolicy::kBatch;

  // TLS on the gRPC port: a certificate chain and key (both or neither), and CA certificates
  // that clients' certificates must chain to (mTLS; empty: no client certificates asked for).
  // The files are read again every `tls_reload_interval`, so renewed certificates apply
  // without a restart.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  absl::Duration tls_reload_interval = absl::Seconds(10);

  // Authorization (services/auth): the access file, empty for none (every caller allowed), and
  // whether health checks need no credentials.
  std::string auth_access_file;
  bool auth_exempt_health = true;

  // Logs (services/common/log.h): the least level written, and the line format.
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kLogfmt;
  // The slow-request log (AdminService/GetSlowlog): calls taking at least the threshold are kept,
  // the newest `slowlog_length` of them.
  absl::Duration slowlog_threshold = absl::Milliseconds(10);
  uint32_t slowlog_length = 128;

  uint32_t shards = 16;
  // The memory cap in bytes of the keyspace's own accounting (0: none). At the cap, calls that
  // add sessions, scores, topics or messages fail with RESOURCE_EXHAUSTED, and rate-limiter
  // state is evicted, least recently changed first (services/common/serving_gate.h).
  uint64_t max_memory = 0;
  absl::Duration expiry_interval = absl::Milliseconds(100);
  uint32_t expiry_slice_keys = 64;

  bool persistence_enabled = true;
  std::string data_dir = "./data";
  std::string fsync = "everysec";  // always | everysec | no
  uint64_t rewrite_min_bytes = 64ull << 20;
  uint32_t rewrite_percentage = 100;
  // Group commit under `always` (AofWriterOptions::group_min_calls); 0 turns holding off.
  uint32_t group_min_calls = 4;

  // How often rate-limit state is recorded: what a crash may forget of it.
  absl::Duration ratelimit_persist_interval = absl::Seconds(1);
  // Named rate-limit policies (services/ratelimit/policies.h); empty for none.
  std::string ratelimit_policy_file;
  // envoyproxy/ratelimit configuration (a YAML file or a directory of them); empty for none.
  std::string ratelimit_envoy_config;
  // Whether ShouldRateLimit answers carry RateLimit-* and Retry-After headers.
  bool ratelimit_envoy_headers = false;

  // Sessions (services/session/session_store.h): the timeouts of a Create that names none, and
  // how much it may carry in attributes and device labels together.
  absl::Duration session_default_idle_timeout = absl::Minutes(30);
  absl::Duration session_default_lifetime = absl::Hours(24);
  uint32_t session_max_attributes = 64;
  uint32_t session_max_attribute_bytes = 16 * 1024;
  // How long a token replaced by Rotate keeps working.
  absl::Duration session_rotation_grace = absl::Seconds(30);
  // Most live sessions per user (0: no cap), and what a Create at the cap does: "reject" or
  // "evict_oldest".
  uint32_t session_max_per_user = 0;
  std::string session_over_cap = "reject";

  // Leaderboards (services/leaderboard/board_store.h): how many boards (all namespaces), the
  // largest page a read returns, metadata bytes per member, and seasons a board may keep.
  uint32_t leaderboard_max_boards = 10'000;
  uint32_t leaderboard_max_page = 1000;
  uint32_t leaderboard_max_metadata_bytes = 1024;
  uint32_t leaderboard_max_kept_seasons = 100;

  // Pub/sub (services/pubsub/topic_store.h): the largest payload, whether a publish creates a
  // missing topic, how far behind a live-only subscriber may fall, and how many topics.
  uint32_t pubsub_max_payload_bytes = 1 << 20;
  bool pubsub_auto_create_topics = true;
  uint32_t pubsub_max_subscriber_lag = 10'000;
  uint32_t pubsub_max_topics = 10'000;
  // How often consumer streams look for pending messages past their ack deadline
  // (services/pubsub/consumer_hub.h): redelivery comes at most this late.
  absl::Duration pubsub_redelivery_check_interval = absl::Milliseconds(100);
};

// What the command line asked hotpathd to do besides serving.
enum class Command { kServe, kHelp, kVersion, kCheckConfig };

struct LoadedConfig {
  Command command = Command::kServe;
  ServerConfig config;
  std::string config_file;  // empty when none was given
};

// Builds the configuration from all sources. `args` excludes the program name; `env` holds the
// environment (only HOTPATH_* entries are read; an unknown one is an error, so a typo is never
// ignored, except the service links Kubernetes sets: see IsServiceLinkVariable). InvalidArgument
// names the source and option at fault: "flag --engine.shards: must be a power of two between
// 1 and 16384, got 3".
absl::StatusOr<LoadedConfig> LoadConfig(const std::vector<std::string>& args,
                                        const std::map<std::string, std::string>& env);

// Whether `name` is one of the variables Kubernetes sets in every pod for each Service in its
// namespace, for a Service whose name starts with "hotpath": HOTPATH_SERVICE_HOST,
// HOTPATH_SERVICE_PORT(_<port name>), HOTPATH_PORT(_<n>_<proto>(_PROTO|_PORT|_ADDR)), and the
// same with HOTPATH_<REST> for a Service named hotpath-<rest>. They are not options; no
// option's variable has this shape.
bool IsServiceLinkVariable(const std::string& name);

// The environment of this process as a map, for LoadConfig.
std::map<std::string, std::string> ProcessEnvironment();

// Usage text listing every option, its meaning and its default.
std::string UsageText();

// Whether a gRPC address is reachable only from this host: loopback or a Unix socket.
bool IsLocalAddress(const std::string& address);

// The effective configuration in YAML, as --check-config prints it.
std::string ConfigToYaml(const ServerConfig& config);

}  // namespace hotpath
