// Fuzzes the pub/sub request handling below gRPC: a sequence of operations, each with
// fuzzer-chosen names, payloads, headers, IDs, options and clock steps, on the TopicStore and
// GroupStore that PubSubService runs every request on. Bad input must come back as a Status;
// what is read back must keep the stores' promises (IDs increasing, no more deliveries than
// asked for, pending never above what was delivered).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "services/pubsub/group_store.h"
#include "services/pubsub/topic_store.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using hotpath::StreamId;
using hotpath::fuzz::Pick;
namespace pubsub = hotpath::pubsub;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  hotpath::FakeClock clock;
  auto keyspace = hotpath::fuzz::FreshKeyspace(&clock);
  pubsub::TopicLimits limits;
  limits.max_payload_bytes = 256;
  limits.max_topics = 8;
  pubsub::TopicStore topics(keyspace.get(), limits);
  pubsub::GroupStore groups(keyspace.get(), &topics,
                            pubsub::GroupLimits{.max_groups_per_topic = 3});
  if (!topics.Start().ok()) return 0;
  static const char* const kTopics[] = {"a", "a.b", "dead", "_sys.session-events"};
  static const char* const kGroups[] = {"g", "h"};
  static const char* const kConsumers[] = {"c1", "c2"};
  const std::string ns = "default";
  std::vector<StreamId> seen;  // IDs handed out, for acks and nacks

  for (int step = 0; step < 64 && in.remaining_bytes() > 0; ++step) {
    const std::string topic = Pick(in, kTopics);
    const std::string group = Pick(in, kGroups);
    switch (in.ConsumeIntegralInRange<int>(0, 9)) {
      case 0: {
        hotpath::pubsub::v1::TopicOptions options;
        options.mutable_retention()->set_max_messages(in.ConsumeIntegralInRange<uint64_t>(0, 5));
        options.mutable_retention()->set_max_bytes(in.ConsumeIntegralInRange<uint64_t>(0, 4096));
        options.mutable_retention()->mutable_max_age()->set_seconds(
            in.ConsumeIntegralInRange<int64_t>(-1, 100));
        options.mutable_dedupe_window()->set_seconds(in.ConsumeIntegralInRange<int64_t>(-1, 100));
        topics.CreateTopic(ns, topic, options).IgnoreError();
        break;
      }
      case 1: {
        google::protobuf::RepeatedPtrField<hotpath::pubsub::v1::OutgoingMessage> batch;
        const int count = in.ConsumeIntegralInRange<int>(0, 4);
        for (int i = 0; i < count; ++i) {
          auto* message = batch.Add();
          message->set_payload(in.ConsumeRandomLengthString(300));
          if (in.ConsumeBool()) {
            (*message->mutable_headers())[in.ConsumeRandomLengthString(8)] =
                in.ConsumeRandomLengthString(8);
          }
          if (in.ConsumeBool()) message->set_idempotency_key(in.ConsumeRandomLengthString(8));
        }
        auto published = topics.Publish(ns, topic, batch, "messages");
        if (published.ok()) FUZZ_ASSERT_TRUE(published->size() == static_cast<size_t>(count));
        break;
      }
      case 2: {
        pubsub::StartPoint start;
        start.kind = static_cast<pubsub::StartPoint::Kind>(in.ConsumeIntegralInRange<int>(0, 3));
        start.after = {in.ConsumeIntegral<uint64_t>() % 4'000'000'000'000ULL,
                       in.ConsumeIntegral<uint64_t>()};
        start.at_ms = in.ConsumeIntegral<int64_t>();
        auto begin = topics.Begin(ns, topic, start);
        if (!begin.ok()) break;
        auto read = topics.Read(ns, topic, *begin, in.ConsumeIntegralInRange<uint32_t>(1, 10));
        if (!read.ok()) break;
        StreamId last = *begin;
        for (const auto& message : *read) {
          const StreamId id = StreamId::Parse(message.id()).value();
          FUZZ_ASSERT_TRUE(last < id);
          last = id;
        }
        break;
      }
      case 3: {
        hotpath::pubsub::v1::GroupOptions options;
        options.mutable_ack_deadline()->set_seconds(in.ConsumeIntegralInRange<int64_t>(0, 100));
        options.set_max_deliveries(in.ConsumeIntegralInRange<uint32_t>(0, 4));
        if (in.ConsumeBool()) options.set_dead_letter_topic(Pick(in, kTopics));
        pubsub::StartPoint start{
            .kind = static_cast<pubsub::StartPoint::Kind>(in.ConsumeIntegralInRange<int>(0, 1))};
        groups.CreateGroup(ns, topic, group, options, start).IgnoreError();
        break;
      }
      case 4: {
        const uint32_t max = in.ConsumeIntegralInRange<uint32_t>(0, 5);
        auto pulled = groups.Pull(ns, topic, group, Pick(in, kConsumers), max, in.ConsumeBool());
        if (!pulled.ok()) break;
        FUZZ_ASSERT_TRUE(pulled->deliveries.size() <= max);
        for (const auto& delivery : pulled->deliveries) {
          FUZZ_ASSERT_TRUE(delivery.delivery_count >= 1);
          seen.push_back(delivery.id);
        }
        break;
      }
      case 5:
      case 6: {
        std::vector<StreamId> ids;
        for (int i = in.ConsumeIntegralInRange<int>(0, 3); i > 0 && !seen.empty(); --i) {
          ids.push_back(seen[in.ConsumeIntegralInRange<size_t>(0, seen.size() - 1)]);
        }
        if (in.ConsumeBool()) ids.push_back({in.ConsumeIntegral<uint64_t>(), 0});
        const std::string consumer = Pick(in, kConsumers);
        if (in.ConsumeBool()) {
          groups.Ack(ns, topic, group, ids).IgnoreError();
        } else {
          groups
              .Nack(ns, topic, group, consumer, ids,
                    absl::Milliseconds(in.ConsumeIntegralInRange<int64_t>(-10, 200'000)))
              .IgnoreError();
        }
        break;
      }
      case 7: {
        auto info = groups.GetGroup(ns, topic, group);
        if (info.ok()) {
          uint64_t owned = 0;
          for (const auto& consumer : info->consumers()) owned += consumer.pending();
          FUZZ_ASSERT_TRUE(owned == info->pending());
        }
        groups.ListGroups(ns, topic).IgnoreError();
        topics.ListTopics(ns).IgnoreError();
        break;
      }
      case 8:
        if (in.ConsumeBool()) {
          groups.DeleteGroup(ns, topic, group).IgnoreError();
        } else {
          topics.DeleteTopic(ns, topic).IgnoreError();
        }
        break;
      case 9:
        clock.Advance(absl::Milliseconds(in.ConsumeIntegralInRange<int64_t>(0, 200'000)));
        break;
    }
  }
  return 0;
}
