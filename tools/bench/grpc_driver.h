// Runs a workload against hotpathd: `concurrency` workers spread over `connections` channels,
// each with one call in flight, closed-loop or (RunOptions::rate) at a fixed arrival rate.
// Unary calls go on gRPC's completion-queue API with one polling thread per CPU the process may
// use (see UnaryCall in workload.h); a workload's streams may use the callback API.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "tools/bench/run.h"
#include "tools/bench/workload.h"

namespace hotpath {

// Unavailable if the target cannot be reached within 10 s.
absl::StatusOr<RunResult> RunHotpath(Workload& workload, const std::string& target,
                                     const RunOptions& run, const WorkloadOptions& options);

}  // namespace hotpath
