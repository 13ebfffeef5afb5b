// HttpGet: a minimal HTTP/1.0 GET over IPv4 for reading /metrics from tools and tests.
#pragma once

#include <optional>
#include <string>

#include "absl/time/time.h"

namespace hotpath {

// GET http://<address><path>, address being "ipv4:port" (an IPv4 literal; names are refused). The
// body of a 200 response, or nullopt on any failure or when `timeout` passes.
std::optional<std::string> HttpGet(const std::string& address, const std::string& path,
                                   absl::Duration timeout = absl::Seconds(10));

// The value of an unlabelled sample `name` in Prometheus text format, or nullopt.
std::optional<double> PrometheusValue(const std::string& text, const std::string& name);

}  // namespace hotpath
