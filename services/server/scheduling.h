// The Linux scheduling policy hotpathd's threads run under (server.scheduling).
//
// A call passes between hotpathd's threads: gRPC's thread reads it and applies it, the log
// writer syncs its record, the acknowledgement thread sends its answer. Under Linux's default
// policy (SCHED_OTHER) each handoff's wakeup may preempt the thread that made it, so on a busy
// core the threads take turns a call or two at a time, each turn paying a context switch.
// SCHED_BATCH turns off wakeup preemption for these threads: a woken thread waits until the
// running one blocks or uses up its time slice, and then handles everything that piled up
// meanwhile: on a busy core, fewer switches and more calls per turn (docs/operations.md has
// the numbers). The cost: a woken hotpathd thread also waits for another process's
// running thread instead of preempting it, so where hotpathd shares its cores with busy
// latency-sensitive processes, `normal` may give hotpathd the better tail latency.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace hotpath {

enum class SchedulingPolicy { kBatch, kNormal };

// "batch" or "normal"; InvalidArgument otherwise.
absl::StatusOr<SchedulingPolicy> ParseSchedulingPolicy(std::string_view name);
const char* SchedulingPolicyName(SchedulingPolicy policy);

// Puts every thread of this process that runs under SCHED_OTHER or SCHED_BATCH under `policy`;
// threads created afterwards inherit it. Needs no privilege (neither policy has a priority). A
// thread under any other policy (a real-time or idle one an operator chose, through chrt or
// systemd's CPUSchedulingPolicy=) keeps it. On failure (a seccomp profile that forbids
// sched_setscheduler, say) the threads it could not change keep their policy and the error
// names the first of them.
absl::Status ApplySchedulingPolicy(SchedulingPolicy policy);

// The calling thread's policy ("fifo", "rr", "idle", "deadline") when it is one that
// ApplySchedulingPolicy keeps; nullopt under SCHED_OTHER or SCHED_BATCH.
std::optional<std::string> KeptSchedulingPolicy();

}  // namespace hotpath
