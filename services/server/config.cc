#include "services/server/config.h"

#include <arpa/inet.h>

#include <bit>
#include <functional>
#include <regex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "engine/common/status_macros.h"
#include "engine/slot.h"
#include "persistence/aof_writer.h"
#include "yaml-cpp/yaml.h"

extern char** environ;

namespace hotpath {
namespace {

using Setter = std::function<absl::Status(ServerConfig&, const std::string&)>;
using Getter = std::function<std::string(const ServerConfig&)>;

struct Option {
  std::string name;  // dotted: "server.grpc_address"
  std::string help;
  Setter set;
  Getter get;
};

absl::Status ParseString(const std::string& text, std::string* out) {
  if (text.empty()) return absl::InvalidArgumentError("must not be empty");
  *out = text;
  return absl::OkStatus();
}

absl::Status ParseUint32(const std::string& text, uint32_t* out) {
  if (!absl::SimpleAtoi(text, out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a non-negative integer, got \"", text, "\""));
  }
  return absl::OkStatus();
}

absl::Status ParsePositiveUint32(const std::string& text, uint32_t* out) {
  uint32_t value = 0;
  HP_RETURN_IF_ERROR(ParseUint32(text, &value));
  if (value == 0) return absl::InvalidArgumentError("must be at least 1, got 0");
  *out = value;
  return absl::OkStatus();
}

absl::Status ParseBool(const std::string& text, bool* out) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "true") {
    *out = true;
  } else if (lower == "false") {
    *out = false;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("expected true or false, got \"", text, "\""));
  }
  return absl::OkStatus();
}

absl::Status ParsePositiveDuration(const std::string& text, absl::Duration* out) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d <= absl::ZeroDuration() ||
      d == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a positive duration such as 250ms or 10s, got \"", text, "\""));
  }
  *out = d;
  return absl::OkStatus();
}

// "host:port" or "[v6]:port" with a port in [0, 65535]; port 0 picks a free port.
absl::Status ParseAddress(const std::string& text, std::string* out) {
  const size_t colon = text.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(text).substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected host:port such as 127.0.0.1:7070, got \"", text, "\""));
  }
  *out = text;
  return absl::OkStatus();
}

// Each section's options stay together: --help and ConfigToYaml print them in this order.
const std::vector<Option>& Options() {
  static const auto* options = new std::vector<Option>{
      {"server.grpc_address", "address the gRPC server listens on (port 0 picks a free port)",
       [](ServerConfig& c, const std::string& v) { return ParseAddress(v, &c.grpc_address); },
       [](const ServerConfig& c) { return c.grpc_address; }},
      {"server.metrics_address", "address of the Prometheus /metrics endpoint",
       [](ServerConfig& c, const std::string& v) { return ParseAddress(v, &c.metrics_address); },
       [](const ServerConfig& c) { return c.metrics_address; }},
      {"server.drain_timeout", "how long in-flight calls may finish after SIGTERM/SIGINT",
       [](ServerConfig& c, const std::string& v) {
         return ParsePositiveDuration(v, &c.drain_timeout);
       },
       [](const ServerConfig& c) { return absl::FormatDuration(c.drain_timeout); }},
      {"server.max_streams_per_connection",
       "most calls, streams included, one client connection may have open at once",
       [](ServerConfig& c, const std::string& v) {
         return ParsePositiveUint32(v, &c.max_streams_per_connection);
       },
       [](const ServerConfig& c) { return absl::StrCat(c.max_streams_per_connection); }},
      {"server.max_metadata_bytes",
       "most bytes of metadata (headers) one call may send; gRPC refuses a call with more",
       [](ServerConfig& c, const std::string& v) -> absl::Status {
         HP_RETURN_IF_ERROR(ParsePositiveUint32(v, &c.max_metadata_bytes));
         if (c.max_metadata_bytes < 1024 || c.max_metadata_bytes > (1u << 20)) {
           return absl::InvalidArgumentError(
               absl::StrCat("must be between 1024 and 1048576, got ", c.max_metadata_bytes));
         }
         return absl::OkStatus();
       },
       [](const ServerConfig& c) { return absl::StrCat(c.max_metadata_bytes); }},
      {"server.allow_plaintext",
       "allow gRPC without TLS on an address other than loopback (true/false)",
       [](ServerConfig& c, const std::string& v) { return ParseBool(v, &c.allow_plaintext); },
       [](const ServerConfig& c) { return std::string(c.allow_plaintext ? "true" : "false"); }},
      {"server.reflection",
       "serve gRPC server reflection (the schema only, no data; needs no credentials)",
       [](ServerConfig& c, const std::string& v) { return ParseBool(v, &c.reflection); },
       [](const ServerConfig& c) { return std::string(c.reflection ? "true" : "false"); }},
      {"server.scheduling",
       "Linux scheduling policy of hotpathd's threads: batch (SCHED_BATCH: a woken thread does "
       "not preempt the running one) or normal (SCHED_OTHER)",
       [](ServerConfig& c, const std::string& v) -> absl::Status {
         HP_ASSIGN_OR_RETURN(c.scheduling, ParseSchedulingPolicy(v));
         return absl::OkStatus();
       },
       [](const ServerConfig& c) { return std::string(SchedulingPolicyName(c.scheduling)); }},
      {"tls.cert_file", "PEM certificate chain of the gRPC port; empty: no TLS",
       [](ServerConfig& c, const std::string& v) {
         c.tls_cert_file = v;
         return absl::OkStatus();
       },
       [](const ServerConfig& c) { return c.tls_cert_file; }},
      {"tls.key_file", "PEM private key of tls.cert_file",
       [](ServerConfig& c, const std::string& v) {
         c.tls_key_file = v;
         return absl::OkStatus();
       },
       [](const ServerConfig& c) { return c.tls_key_file; }},
      {"tls.client_ca_file",
       "PEM CA certificates: when set, clients must present a certificate they signed (mTLS)",
       [](ServerConfig& c, const std::string& v) {
         c.tls_client_ca_file = v;
         return absl::OkStatus();
       },
       [](const ServerConfig& c) { return c.tls_client_ca_file; }},
      {"tls.reload_interval",
       "how often the certificate, key and CA files are read again (whole seconds)",
       [](ServerConfig& c, const std::string& v) -> absl::Status {
         HP_RETURN_IF_ERROR(ParsePositiveDuration(v, &c.tls_reload_interval));
         if (c.tls_reload_interval < absl::Seconds(1) ||
             c.tls_reload_interval != absl::Trunc(c.tls_reload_interval, absl::Seconds(1))) {
           return absl::InvalidArgumentError(
               absl::StrCat("must be whole seconds, at least 1s, got \"", v, "\""));
         }
         return absl::OkStatus();
       },
       [](const ServerConfig& c) { return absl::FormatDuration(c.tls_reload_interval); }},
      {"auth.access_file",
       "API keys, certificate identities and namespace quotas (YAML), reloaded on change and on "
       "SIGHUP; empty: every caller is allowed",
       [](ServerConfig& c, const std::string& v) {
         c.auth_access_file = v;
         return absl::OkStatus();
       },
       [](const ServerConfig& c) { return c.auth_access_file; }},
      {"auth.exempt_health", "answer gRPC health checks without credentials (true/false)",
       [](ServerConfig& c, const std::string& v) { return ParseBool(v, &c.auth_exempt_health); },
       [](const ServerConfig& c) { return std::string(c.auth_exempt_health ? "true" : "false"); }},
      {"log.level", "least level of the log lines written (debug, info, warn, error)",
       [](ServerConfig& c, const std::string& v) -> absl::Status {
         HP_ASSIGN_OR_RETURN(c.log_level, ParseLogLevel(v));
         return absl::OkStatus();
       },
       [](const ServerConfig& c) { return std::string(LogLevelName(c.log_level)); }},
      {"log.format", "log line format: logfmt (key=value) or json",
       [](ServerConfig& c, const std::string& v) -> absl::Status {
         HP_ASSIGN_OR_RETURN(c.log_format, ParseLogFormat(v));
         return absl::OkStatus();
       },
       [](const ServerConfig& c) {
         return std::string(c.log_format == LogFormat::kJson ? "json" : "logfmt");
       }},
      {"admin.slowlog_threshold", "calls taking at least this long enter the slow-request log",
       [](ServerConfig& c, const std::string& v) {
         return ParsePositiveDuration(v, &c.slowlog_threshold);
       },
       [](const ServerConfig& c) { return absl::FormatDuration(c.slowlog_threshold); }},
      {"admin.slowlog_length", "how many slow calls the slow-request log keeps (newest)",
       [](ServerConfig& c, const std::string& v) -> absl::Status {
         HP_RETURN_IF_ERROR(ParsePositiveUint32(v, &c.slowlog_length));
         if (c.slowlog_length > 10'000) return absl::InvalidArgumentError("must be at most 10000");
         return absl::OkStatus();
       },
       [](const ServerConfig& c) { return absl::StrCat(c.slowlog_length); }},
      {"engine.shards", "keyspace shards, a power of two between 1 and 16384",
       [](ServerConfig& c, const std::string& v) -> absl::Status {
         uint32_t shards = 0;
         HP_RETURN_IF_ERROR(ParseUint32(v, &shards));
         if (shards == 0 || shards > kSlotCount || !std::has_single_bit(shards)) {
           return absl::InvalidArgumentError(
               absl::StrCat("must be a power of two between 1 and ", kSlotCount, ", got ", shards));
         }
         c.shards = shards;
         return absl::OkStatus();
       },
       [](const ServerConfig& c) { return absl::StrCat(c.shards); }},
      {"engine.max_memory",
       "memory cap in bytes (0: none): at the cap, calls that add data fail with "
       "RESOURCE_EXHAUSTED and rate-limit state is evicted, least recently used first",
       [](ServerConfig& c, const std::string& v) -> absl::Status {
         if (!absl::SimpleAtoi(v, &c.max_memory)) {
           return absl::InvalidArgumentError(
               absl::StrCat("expected a byte count such as 1073741824, got \"", v, "\""));
         }
         return absl::OkStatus();
       },
       [](const ServerConfig& c) { return absl::StrCat(c.max_memory); }},
      {"engine.expiry_interval", "pause between active expiry rounds",
       [](ServerConfig& c, const std::string& v) {
         return ParsePositiveDuration(v, &c.expiry_interval);
       },
       [](const ServerConfig& c) { return absl::FormatDuration(c.expiry_interval); }},
      {"engine.expiry_slice_keys", "most keys one expiry slice removes from one shard",
       [](ServerConfig& c, const std::string& v) -> absl::Status {
         HP_RETURN_IF_ERROR(ParseUint32(v, &c.expiry_slice_keys));
         if (c.expiry_slice_keys == 0) return absl::InvalidArgumentError("must be at least 1");
         return absl::OkStatus();
       },
       [](const ServerConfig& c) { return absl::StrCat(c.expiry_slice_keys); }},
      {"persistence.enabled", "keep state in the data directory (true or false)",
       [](ServerConfig& c, const std::string& v) { return ParseBool(v, &c.persistence_enabled); },
       [](const ServerConfig& c) { return std::string(c.persistence_enabled ? "true" : "false"); }},
      {"persistence.data_dir", "directory for durable state, created if missing",
       [](ServerConfig& c, const std::string& v) { return ParseString(v, &c.data_dir); },
       [](const ServerConfig& c) { return c.data_dir; }},
      {"persistence.fsync", "when a write is durable: always, everysec or no",
       [](ServerConfig& c, const std::string& v) -> absl::Status {
         HP_RETURN_IF_ERROR(ParseFsyncPolicy(v).status());
         c.fsync = v;
         return absl::OkStatus();
       },
       [](const ServerConfig& c) { return c.fsync; }},
      {"persistence.rewrite_min_bytes",
       "rewrite the log automatically only once its segments hold at least this many bytes",
       [](ServerConfig& c, const std::string& v) -> absl::Status {
         if (!absl::SimpleAtoi(v, &c.rewrite_min_bytes)) {
           return absl::InvalidArgumentError(
               absl::StrCat("expected a byte count such as 67108864, got \"", v, "\""));
         }
         return absl::OkStatus();
       },
       [](const ServerConfig& c) { return absl::StrCat(c.rewrite_min_bytes); }},
      {"persistence.rewrite_percentage",
       "rewrite the log automatically when its segments reach this percentage of the base's "
       "size (0 turns automatic rewrites off)",
       [](ServerConfig& c, const std::string& v) { return ParseUint32(v, &c.rewrite_percentage); },
       [](const ServerConfig& c) { return absl::StrCat(c.rewrite_percentage); }},
      {"persistence.group_min_calls",
       "under fsync always, hold the next sync for as many writes as the last one answered once "
       "it answered at least this many (0 turns holding off)",
       [](ServerConfig& c, const std::string& v) { return ParseUint32(v, &c.group_min_calls); },
       [](const ServerConfig& c) { return absl::StrCat(c.group_min_calls); }},
      {"ratelimit.persist_interval",
       "how often rate-limit state is recorded (a crash forgets at most this much of it)",
       [](ServerConfig& c, const std::string& v) {
         return ParsePositiveDuration(v, &c.ratelimit_persist_interval);
       },
       [](const ServerConfig& c) { return absl::FormatDuration(c.ratelimit_persist_interval); }},
      {"ratelimit.policy_file",
       "named rate-limit policies (YAML), reloaded on change and on SIGHUP",
       [](ServerConfig& c, const std::string& v) {
         c.ratelimit_policy_file = v;
         return absl::OkStatus();
       },
       [](const ServerConfig& c) { return c.ratelimit_policy_file; }},
      {"ratelimit.envoy_config",
       "envoyproxy/ratelimit configuration for Envoy's API (a YAML file or a directory of them), "
       "reloaded on change and on SIGHUP",
       [](ServerConfig& c, const std::string& v) {
         c.ratelimit_envoy_config = v;
         return absl::OkStatus();
       },
       [](const ServerConfig& c) { return c.ratelimit_envoy_config; }},
      {"ratelimit.envoy_headers",
       "add RateLimit-Limit/-Remaining/-Reset and Retry-After to Envoy's answers (true/false)",
       [](ServerConfig& c, const std::string& v) {
         return ParseBool(v, &c.ratelimit_envoy_headers);
       },
       [](const ServerConfig& c) {
         return std::string(c.ratelimit_envoy_headers ? "true" : "false");
       }},
      {"session.default_idle_timeout",
       "a session unused this long ends, unless Create names another idle timeout",
       [](ServerConfig& c, const std::string& v) {
         return ParsePositiveDuration(v, &c.session_default_idle_timeout);
       },
       [](const ServerConfig& c) { return absl::FormatDuration(c.session_default_idle_timeout); }},
      {"session.default_lifetime",
       "a session ends this long after Create however much it is used, unless Create names "
       "another absolute lifetime",
       [](ServerConfig& c, const std::string& v) {
         return ParsePositiveDuration(v, &c.session_default_lifetime);
       },
       [](const ServerConfig& c) { return absl::FormatDuration(c.session_default_lifetime); }},
      {"session.max_attributes", "most attributes and device labels a session holds together",
       [](ServerConfig& c, const std::string& v) {
         return ParseUint32(v, &c.session_max_attributes);
       },
       [](const ServerConfig& c) { return absl::StrCat(c.session_max_attributes); }},
      {"session.max_attribute_bytes",
       "most bytes of keys and values a session's attributes and device labels hold together",
       [](ServerConfig& c, const std::string& v) {
         return ParseUint32(v, &c.session_max_attribute_bytes);
       },
       [](const ServerConfig& c) { return absl::StrCat(c.session_max_attribute_bytes); }},
      {"session.rotation_grace",
       "how long a token replaced by Rotate keeps working (for requests already in flight)",
       [](ServerConfig& c, const std::string& v) {
         return ParsePositiveDuration(v, &c.session_rotation_grace);
       },
       [](const ServerConfig& c) { return absl::FormatDuration(c.session_rotation_grace); }},
      {"session.max_per_user", "most live sessions per user (0: no cap)",
       [](ServerConfig& c, const std::string& v) {
         return ParseUint32(v, &c.session_max_per_user);
       },
       [](const ServerConfig& c) { return absl::StrCat(c.session_max_per_user); }},
      {"session.over_cap",
       "what a Create at session.max_per_user does: reject (RESOURCE_EXHAUSTED) or evict_oldest",
       [](ServerConfig& c, const std::string& v) -> absl::Status {
         if (v != "reject" && v != "evict_oldest") {
           return absl::InvalidArgumentError(
               absl::StrCat("must be reject or evict_oldest, got \"", v, "\""));
         }
         c.session_over_cap = v;
         return absl::OkStatus();
       },
       [](const ServerConfig& c) { return c.session_over_cap; }},
      {"leaderboard.max_boards",
       "most leaderboards, all namespaces together (it also bounds the board metric labels)",
       [](ServerConfig& c, const std::string& v) {
         return ParsePositiveUint32(v, &c.leaderboard_max_boards);
       },
       [](const ServerConfig& c) { return absl::StrCat(c.leaderboard_max_boards); }},
      {"leaderboard.max_page", "most entries one leaderboard read returns (and a Watch's top N)",
       [](ServerConfig& c, const std::string& v) {
         return ParsePositiveUint32(v, &c.leaderboard_max_page);
       },
       [](const ServerConfig& c) { return absl::StrCat(c.leaderboard_max_page); }},
      {"leaderboard.max_metadata_bytes", "most bytes of metadata a leaderboard member carries",
       [](ServerConfig& c, const std::string& v) {
         return ParseUint32(v, &c.leaderboard_max_metadata_bytes);
       },
       [](const ServerConfig& c) { return absl::StrCat(c.leaderboard_max_metadata_bytes); }},
      {"leaderboard.max_kept_seasons", "most ended seasons a board may keep queryable",
       [](ServerConfig& c, const std::string& v) {
         return ParseUint32(v, &c.leaderboard_max_kept_seasons);
       },
       [](const ServerConfig& c) { return absl::StrCat(c.leaderboard_max_kept_seasons); }},
      {"pubsub.max_payload_bytes", "largest message payload a publish may carry (at most 16 MiB)",
       [](ServerConfig& c, const std::string& v) -> absl::Status {
         HP_RETURN_IF_ERROR(ParsePositiveUint32(v, &c.pubsub_max_payload_bytes));
         if (c.pubsub_max_payload_bytes > (16u << 20)) {
           return absl::InvalidArgumentError("must be at most 16777216");
         }
         return absl::OkStatus();
       },
       [](const ServerConfig& c) { return absl::StrCat(c.pubsub_max_payload_bytes); }},
      {"pubsub.auto_create_topics",
       "whether a publish to a missing topic creates it with the default retention (true/false)",
       [](ServerConfig& c, const std::string& v) {
         return ParseBool(v, &c.pubsub_auto_create_topics);
       },
       [](const ServerConfig& c) {
         return std::string(c.pubsub_auto_create_topics ? "true" : "false");
       }},
      {"pubsub.max_subscriber_lag",
       "how many messages a live-only subscriber may fall behind before it is ended",
       [](ServerConfig& c, const std::string& v) {
         return ParsePositiveUint32(v, &c.pubsub_max_subscriber_lag);
       },
       [](const ServerConfig& c) { return absl::StrCat(c.pubsub_max_subscriber_lag); }},
      {"pubsub.max_topics", "most topics, all namespaces together",
       [](ServerConfig& c, const std::string& v) {
         return ParsePositiveUint32(v, &c.pubsub_max_topics);
       },
       [](const ServerConfig& c) { return absl::StrCat(c.pubsub_max_topics); }},
      {"pubsub.redelivery_check_interval",
       "how often consumer groups look for messages past their ack deadline",
       [](ServerConfig& c, const std::string& v) {
         return ParsePositiveDuration(v, &c.pubsub_redelivery_check_interval);
       },
       [](const ServerConfig& c) {
         return absl::FormatDuration(c.pubsub_redelivery_check_interval);
       }},
  };
  return *options;
}

// Rules that span options, checked once every source is applied.
}  // namespace

bool IsLocalAddress(const std::string& address) {
  if (absl::StartsWith(address, "unix:") || absl::StartsWith(address, "unix-abstract:")) {
    return true;
  }
  const std::string host = address.substr(0, address.rfind(':'));
  if (host == "localhost" || host == "[::1]") return true;
  in_addr ipv4{};
  return inet_pton(AF_INET, host.c_str(), &ipv4) == 1 && (ntohl(ipv4.s_addr) >> 24) == 127;
}

namespace {

absl::Status CheckTogether(const ServerConfig& c) {
  const absl::Duration most = absl::Hours(24 * 366);  // SessionLimits::max_lifetime
  if (c.session_default_idle_timeout < absl::Seconds(1) || c.session_default_idle_timeout > most ||
      c.session_default_lifetime < absl::Seconds(1) || c.session_default_lifetime > most) {
    return absl::InvalidArgumentError(
        "session.default_idle_timeout and session.default_lifetime must be between 1s and 366 "
        "days");
  }
  if (c.session_default_lifetime < c.session_default_idle_timeout) {
    return absl::InvalidArgumentError(
        "session.default_lifetime must not be shorter than session.default_idle_timeout");
  }
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    return absl::InvalidArgumentError("tls.cert_file and tls.key_file go together");
  }
  if (!c.tls_client_ca_file.empty() && c.tls_cert_file.empty()) {
    return absl::InvalidArgumentError("tls.client_ca_file needs tls.cert_file and tls.key_file");
  }
  if (c.tls_cert_file.empty() && !c.allow_plaintext && !IsLocalAddress(c.grpc_address)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "server.grpc_address ", c.grpc_address,
        " is not loopback: set tls.cert_file and tls.key_file, or server.allow_plaintext=true "
        "to serve it without TLS"));
  }
  return absl::OkStatus();
}

const Option* FindOption(absl::string_view name) {
  for (const Option& option : Options()) {
    if (option.name == name) return &option;
  }
  return nullptr;
}

// HOTPATH_SERVER_GRPC_ADDRESS for server.grpc_address.
std::string EnvName(const std::string& option) {
  return "HOTPATH_" + absl::AsciiStrToUpper(absl::StrReplaceAll(option, {{".", "_"}}));
}

absl::Status Apply(ServerConfig& config, const std::string& source, const std::string& name,
                   const std::string& value) {
  const Option* option = FindOption(name);
  if (option == nullptr)
    return absl::InvalidArgumentError(absl::StrCat(source, ": unknown option"));
  absl::Status status = option->set(config, value);
  if (!status.ok()) return absl::InvalidArgumentError(absl::StrCat(source, ": ", status.message()));
  return absl::OkStatus();
}

// Flattens a YAML mapping into (dotted name, scalar) pairs.
absl::Status Flatten(const YAML::Node& node, const std::string& prefix,
                     std::vector<std::pair<std::string, std::string>>* out) {
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix.empty() ? "the document" : prefix, " must be a mapping"));
  }
  for (const auto& item : node) {
    const std::string name =
        prefix.empty() ? item.first.as<std::string>() : prefix + "." + item.first.as<std::string>();
    if (item.second.IsMap()) {
      HP_RETURN_IF_ERROR(Flatten(item.second, name, out));
    } else if (item.second.IsScalar()) {
      out->emplace_back(name, item.second.Scalar());
    } else {
      return absl::InvalidArgumentError(absl::StrCat(name, " must be a single value"));
    }
  }
  return absl::OkStatus();
}

absl::Status ApplyFile(ServerConfig& config, const std::string& path) {
  const std::string source = absl::StrCat("config file ", path);
  std::vector<std::pair<std::string, std::string>> entries;
  // yaml-cpp reports errors by exception; they stop here, at start-up, as a Status.
  try {
    const YAML::Node root = YAML::LoadFile(path);
    if (root.IsNull()) return absl::OkStatus();  // an empty file changes nothing
    absl::Status flattened = Flatten(root, "", &entries);
    if (!flattened.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": ", flattened.message()));
    }
  } catch (const YAML::BadFile&) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": cannot be read"));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", e.what()));
  }
  for (const auto& [name, value] : entries) {
    HP_RETURN_IF_ERROR(Apply(config, absl::StrCat(source, ": ", name), name, value));
  }
  return absl::OkStatus();
}

struct Flag {
  std::string name;
  std::string value;
  bool has_value = false;
};

absl::StatusOr<std::vector<Flag>> SplitFlags(const std::vector<std::string>& args) {
  std::vector<Flag> flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!absl::StartsWith(arg, "--") || arg.size() == 2) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", arg, "\""));
    }
    Flag flag;
    const size_t equals = arg.find('=');
    flag.name = arg.substr(2, equals == std::string::npos ? std::string::npos : equals - 2);
    if (equals != std::string::npos) {
      flag.value = arg.substr(equals + 1);
      flag.has_value = true;
    } else if (i + 1 < args.size() && !absl::StartsWith(args[i + 1], "--")) {
      flag.value = args[++i];
      flag.has_value = true;
    }
    flags.push_back(std::move(flag));
  }
  return flags;
}

}  // namespace

absl::StatusOr<LoadedConfig> LoadConfig(const std::vector<std::string>& args,
                                        const std::map<std::string, std::string>& env) {
  HP_ASSIGN_OR_RETURN(std::vector<Flag> flags, SplitFlags(args));
  LoadedConfig loaded;
  std::vector<const Flag*> option_flags;
  if (auto it = env.find("HOTPATH_CONFIG"); it != env.end()) loaded.config_file = it->second;
  for (const Flag& flag : flags) {
    const bool is_switch =
        flag.name == "help" || flag.name == "version" || flag.name == "check-config";
    if (is_switch && flag.has_value) {
      return absl::InvalidArgumentError(absl::StrCat("flag --", flag.name, " takes no value"));
    }
    if (flag.name == "help") {
      loaded.command = Command::kHelp;
    } else if (flag.name == "version") {
      loaded.command = Command::kVersion;
    } else if (flag.name == "check-config") {
      loaded.command = Command::kCheckConfig;
    } else if (flag.name == "config") {
      if (!flag.has_value) return absl::InvalidArgumentError("flag --config needs a file path");
      loaded.config_file = flag.value;
    } else if (FindOption(flag.name) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", flag.name, " (see hotpathd --help)"));
    } else if (!flag.has_value) {
      return absl::InvalidArgumentError(absl::StrCat("flag --", flag.name, " needs a value"));
    } else {
      option_flags.push_back(&flag);
    }
  }
  if (loaded.command == Command::kHelp || loaded.command == Command::kVersion) return loaded;

  if (!loaded.config_file.empty()) HP_RETURN_IF_ERROR(ApplyFile(loaded.config, loaded.config_file));
  for (const auto& [name, value] : env) {
    if (!absl::StartsWith(name, "HOTPATH_") || name == "HOTPATH_CONFIG") continue;
    if (IsServiceLinkVariable(name)) continue;
    const Option* match = nullptr;
    for (const Option& option : Options()) {
      if (EnvName(option.name) == name) match = &option;
    }
    if (match == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("environment variable ", name, ": unknown option"));
    }
    HP_RETURN_IF_ERROR(
        Apply(loaded.config, absl::StrCat("environment variable ", name), match->name, value));
  }
  for (const Flag* flag : option_flags) {
    HP_RETURN_IF_ERROR(
        Apply(loaded.config, absl::StrCat("flag --", flag->name), flag->name, flag->value));
  }
  HP_RETURN_IF_ERROR(CheckTogether(loaded.config));
  return loaded;
}

bool IsServiceLinkVariable(const std::string& name) {
  static const std::regex* const kLink = new std::regex(
      "HOTPATH(_[A-Z0-9_]+)?_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|"
      "PORT(_[0-9]+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)");
  return std::regex_match(name, *kLink);
}

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::pair<std::string, std::string> kv = absl::StrSplit(*entry, absl::MaxSplits('=', 1));
    env.insert(std::move(kv));
  }
  return env;
}

std::string UsageText() {
  const ServerConfig defaults;
  std::string text =
      "usage: hotpathd [--config FILE] [--OPTION=VALUE ...] [--check-config] [--help] "
      "[--version]\n\n"
      "Precedence: defaults < config file < HOTPATH_* environment < flags.\n"
      "HOTPATH_CONFIG names a config file when --config is not given.\n\noptions:\n";
  for (const Option& option : Options()) {
    absl::StrAppend(&text, "  --", option.name, "  (", EnvName(option.name), ")\n      ",
                    option.help, "; default ", option.get(defaults), "\n");
  }
  return text;
}

std::string ConfigToYaml(const ServerConfig& config) {
  // Options() lists each section's options together, so each section is one map (a section
  // written twice would be a duplicate key, which strict YAML readers refuse).
  // yaml-cpp quotes and escapes, so any value (a path with quotes, say) reads back unchanged.
  YAML::Emitter out;
  out << YAML::BeginMap;
  std::string section;
  for (const Option& option : Options()) {
    const std::vector<std::string> parts = absl::StrSplit(option.name, absl::MaxSplits('.', 1));
    if (parts[0] != section) {
      if (!section.empty()) out << YAML::EndMap;
      section = parts[0];
      out << YAML::Key << section << YAML::Value << YAML::BeginMap;
    }
    out << YAML::Key << parts[1] << YAML::Value << YAML::DoubleQuoted << option.get(config);
  }
  out << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace hotpath
