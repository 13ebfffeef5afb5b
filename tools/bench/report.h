// Renders results: a human table with hotpath/Redis ratios, or JSON for scripts.
#pragma once

#include <string>
#include <vector>

#include "tools/bench/run.h"
#include "tools/bench/workload.h"

namespace hotpath {

struct Report {
  std::string workload;
  WorkloadOptions options;
  uint64_t items = 0;              // items the workload stores; memory per item when > 0
  std::vector<RunResult> results;  // hotpath first, then Redis when compared
};

std::string FormatTable(const Report& report);
std::string FormatJson(const Report& report);

}  // namespace hotpath
