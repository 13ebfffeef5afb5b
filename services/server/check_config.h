// `hotpathd --check-config`: everything a start would check before serving, without serving.
//
// The options were validated when the configuration loaded; this also loads every file they
// name the way a start does: the rate-limit policy file, the Envoy rate limit configuration,
// the access file, and the TLS certificate, key and client CA (a readable PEM each, the key
// matching the certificate). It neither opens the data directory nor binds a port.
#pragma once

#include "absl/status/status.h"
#include "services/server/config.h"

namespace hotpath {

// OK, or the first problem, prefixed with the option that names the file
// ("ratelimit.policy_file: ...").
absl::Status CheckConfigFiles(const ServerConfig& config);

}  // namespace hotpath
