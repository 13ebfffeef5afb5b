#include "persistence/record_format.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "engine/keyspace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hotpath {
namespace {

using ::testing::HasSubstr;

// Encodes every mutation as it happens, as the AOF writer will, and keeps the owned record.
class EncodingSink : public MutationSink {
 public:
  void Apply(const Mutation& m) override {
    absl::MutexLock lock(&mu_);
    payloads.push_back(EncodeMutation(m));
    records.push_back(Record::From(m));
  }
  absl::Mutex mu_;
  std::vector<std::string> payloads;
  std::vector<Record> records;
};

std::string Render(const Record& r) {
  std::string value = "none";
  if (r.value != nullptr) {
    switch (r.value->type()) {
      case ValueType::kString:
        value = "s:" + r.value->string();
        break;
      case ValueType::kCounter:
        value = absl::StrCat("c:", r.value->counter());
        break;
      default:
        value = absl::StrCat("l:", r.value->limiter().algorithm, ":", r.value->limiter().slots[0],
                             ":", r.value->limiter().slots[2]);
    }
  }
  std::string fields;
  for (const auto& [f, v] : r.stream_fields) absl::StrAppend(&fields, f, "=", v, ";");
  return absl::StrCat(static_cast<int>(r.kind), "|", r.shard, "|", r.sequence, "|", r.ns, "|",
                      r.key, "|", value, "|", r.deadline_ms, "|", r.field, "|", r.field_value, "|",
                      r.score, "|", r.tiebreak, "|", static_cast<int>(r.zset_options.score_order),
                      static_cast<int>(r.zset_options.ties), "|", r.stream_id.ToString(), "|",
                      fields, "|", r.group, "|", r.consumer, "|", r.delivery_count, "|",
                      r.delivery_ms);
}

// One of every record kind, with awkward values (negative, empty, binary, long).
void Workload(Keyspace& k, FakeClock& clock) {
  const absl::Time later = clock.Now() + absl::Hours(1);
  ASSERT_TRUE(k.Set({.ns = "t", .key = "s"}, std::string("bin\0ary", 7), {.deadline = later}).ok());
  ASSERT_TRUE(k.IncrementBy({.key = "n"}, -42).ok());
  ASSERT_TRUE(k.SetDeadline({.key = "n"}, later).ok());
  ASSERT_TRUE(k.Delete({.key = "n"}).ok());
  ASSERT_TRUE(k.Set({.key = "e"}, "x", {.deadline = clock.Now() + absl::Seconds(1)}).ok());
  clock.Advance(absl::Seconds(2));
  ASSERT_FALSE(k.Exists({.key = "e"}).value());  // kExpire
  ASSERT_TRUE(k.HashSet({.key = "h"}, "f", std::string(300, 'v')).ok());
  ASSERT_TRUE(k.HashSet({.key = "h"}, "empty", "").ok());
  ASSERT_TRUE(k.HashDelete({.key = "h"}, "f").ok());
  ASSERT_TRUE(k.ZsetUpsert({.key = "z"},
                           {.score_order = ScoreOrder::kDescending, .ties = TieOrder::kMemberName},
                           "m", INT64_MIN, 7)
                  .ok());
  ASSERT_TRUE(k.ZsetRemove({.key = "z"}, "m").ok());
  ASSERT_TRUE(k.UpdateLimiter({.key = "l"}, [&](const LimiterState*, int64_t now,
                                                Keyspace::LimiterWrite* w) {
                 *w = {.store = true,
                       .state = {.algorithm = 3, .slots = {-1, INT64_MAX, 0}},
                       .deadline_ns = now + 1'000'000'000};
                 return 0;
               }).ok());
  const KeyRef x{.key = "x"};
  ASSERT_TRUE(k.StreamCreateGroup(x, "g", kMinStreamId, true).ok());
  ASSERT_TRUE(k.StreamAppend(x, std::nullopt, {{"a", "1"}, {"b", ""}}).ok());
  ASSERT_TRUE(k.StreamAppend(x, std::nullopt, {{"a", "2"}}).ok());
  auto delivered = k.StreamReadGroup(x, "g", "c", 10).value();
  ASSERT_TRUE(k.StreamAck(x, "g", {delivered[0].id}).ok());
  clock.Advance(absl::Seconds(5));
  ASSERT_TRUE(k.StreamAutoClaim(x, "g", "d", 1000, kMinStreamId, 10).ok());
  ASSERT_TRUE(k.StreamDeleteConsumer(x, "g", "c").ok());
  ASSERT_TRUE(k.StreamTrim(x, {.kind = StreamTrimPolicy::Kind::kMaxLength, .max_length = 1}).ok());
  ASSERT_TRUE(k.StreamDestroyGroup(x, "g").ok());
}

class RecordFormatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keyspace_ = Keyspace::Create({.shards = 2}, &clock_, &sink_).value();
    ASSERT_NO_FATAL_FAILURE(Workload(*keyspace_, clock_));
    for (const std::string& payload : sink_.payloads) AppendFrame(payload, &log_);
  }

  FakeClock clock_;
  EncodingSink sink_;
  std::unique_ptr<Keyspace> keyspace_;
  std::string log_;
};

TEST_F(RecordFormatTest, EveryKindRoundTrips) {
  std::vector<int> kinds;
  for (size_t i = 0; i < sink_.payloads.size(); ++i) {
    absl::StatusOr<Record> decoded = DecodeRecord(sink_.payloads[i]);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(Render(*decoded), Render(sink_.records[i]));
    kinds.push_back(static_cast<int>(decoded->kind));
  }
  for (int kind = 1; kind <= static_cast<int>(MutationKind::kConsumerCreate); ++kind) {
    EXPECT_THAT(kinds, ::testing::Contains(kind)) << "the workload misses kind " << kind;
  }
}

TEST_F(RecordFormatTest, AFramedLogReplaysIntoTheSameState) {
  FakeClock other_clock(absl::FromUnixSeconds(5));
  auto restored = Keyspace::Create({.shards = 2}, &other_clock).value();
  FrameReader reader(log_);
  size_t records = 0;
  for (FrameReader::Frame frame = reader.Next(); frame.state == FrameReader::State::kRecord;
       frame = reader.Next()) {
    absl::StatusOr<Record> record = DecodeRecord(frame.payload);
    ASSERT_TRUE(record.ok()) << record.status();
    ASSERT_TRUE(restored->Replay(*record).ok());
    ++records;
  }
  EXPECT_EQ(records, sink_.payloads.size());
  EXPECT_EQ(reader.valid_bytes(), log_.size());
  EXPECT_EQ(restored->Get({.ns = "t", .key = "s"}).value(), std::string("bin\0ary", 7));
  EXPECT_EQ(restored->HashGetAll({.key = "h"}).value().size(), 1u);
  EXPECT_EQ(restored->Stats().keys, keyspace_->Stats().keys);
  EXPECT_EQ(restored->Stats().memory_bytes, keyspace_->Stats().memory_bytes);
}

TEST_F(RecordFormatTest, ACutAnywhereInTheLastRecordIsATornTail) {
  size_t last_start = 0;
  {
    FrameReader reader(log_);
    while (reader.Next().state == FrameReader::State::kRecord) {
      if (reader.valid_bytes() < log_.size()) last_start = reader.valid_bytes();
    }
  }
  for (size_t cut = last_start + 1; cut < log_.size(); ++cut) {
    FrameReader reader(std::string_view(log_).substr(0, cut));
    FrameReader::Frame frame;
    size_t records = 0;
    while ((frame = reader.Next()).state == FrameReader::State::kRecord) ++records;
    ASSERT_EQ(frame.state, FrameReader::State::kTornTail) << cut;
    EXPECT_EQ(frame.offset, last_start);
    EXPECT_EQ(reader.valid_bytes(), last_start);  // truncate here
    EXPECT_EQ(records, sink_.payloads.size() - 1);
  }
}

TEST_F(RecordFormatTest, DamageFollowedByMoreDataIsCorruption) {
  std::string damaged = log_;
  const size_t second = kFrameHeaderBytes + sink_.payloads[0].size();
  damaged[second + kFrameHeaderBytes + 1] ^= 0x40;  // inside the second record's payload
  FrameReader reader(damaged);
  ASSERT_EQ(reader.Next().state, FrameReader::State::kRecord);
  FrameReader::Frame frame = reader.Next();
  EXPECT_EQ(frame.state, FrameReader::State::kCorrupt);
  EXPECT_EQ(frame.offset, second);
  EXPECT_THAT(frame.problem, HasSubstr("whole records follow"));
}

TEST_F(RecordFormatTest, ADamagedLengthInTheMiddleIsCorruptionNotATornTail) {
  std::string damaged = log_;
  const size_t second = kFrameHeaderBytes + sink_.payloads[0].size();
  damaged[second + 1] ^= 0x01;  // the length now claims 256 more bytes than its record has
  FrameReader reader(damaged);
  ASSERT_EQ(reader.Next().state, FrameReader::State::kRecord);
  const FrameReader::Frame frame = reader.Next();
  EXPECT_EQ(frame.state, FrameReader::State::kCorrupt) << frame.problem;
  EXPECT_EQ(frame.offset, second);
}

TEST_F(RecordFormatTest, AZeroFilledTailIsATornTail) {
  // The file size reached the disk before the data did.
  const std::string zeros = log_ + std::string(4096, '\0');
  FrameReader reader(zeros);
  FrameReader::Frame frame;
  size_t records = 0;
  while ((frame = reader.Next()).state == FrameReader::State::kRecord) ++records;
  EXPECT_EQ(frame.state, FrameReader::State::kTornTail);
  EXPECT_EQ(records, sink_.payloads.size());
  EXPECT_EQ(reader.valid_bytes(), log_.size());
}

TEST_F(RecordFormatTest, ABadChecksumOnTheLastRecordIsATornTail) {
  std::string damaged = log_;
  damaged.back() ^= 0x01;
  FrameReader reader(damaged);
  FrameReader::Frame frame;
  while ((frame = reader.Next()).state == FrameReader::State::kRecord) {
  }
  EXPECT_EQ(frame.state, FrameReader::State::kTornTail);
}

TEST(FrameReader, AnImpossibleLengthIsCorruptionWhenRecordsFollow) {
  std::string log;
  AppendFrame("fine", &log);
  log.append("\xff\xff\xff\x7f\0\0\0\0", 8);
  {
    FrameReader reader(log);  // at the very end it is what a crash may leave
    ASSERT_EQ(reader.Next().state, FrameReader::State::kRecord);
    EXPECT_EQ(reader.Next().state, FrameReader::State::kTornTail);
  }
  AppendFrame("after", &log);
  FrameReader reader(log);
  ASSERT_EQ(reader.Next().state, FrameReader::State::kRecord);
  FrameReader::Frame frame = reader.Next();
  EXPECT_EQ(frame.state, FrameReader::State::kCorrupt);
  EXPECT_THAT(frame.problem, HasSubstr("impossible record length"));
  EXPECT_EQ(frame.offset, kFrameHeaderBytes + 4);
}

TEST(DecodeRecord, RejectsMalformedPayloads) {
  EXPECT_EQ(DecodeRecord("").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(DecodeRecord(std::string("\x63\x00\x01\x00\x00", 5)).status().message(),
              HasSubstr("unknown kind"));
  const std::string delete_record("\x03\x00\x01\x01t\x01k", 7);  // kind 3, shard 0, seq 1
  ASSERT_TRUE(DecodeRecord(delete_record).ok());
  EXPECT_THAT(DecodeRecord(delete_record + "x").status().message(),
              HasSubstr("bytes after the body"));
  EXPECT_THAT(DecodeRecord(delete_record.substr(0, 6)).status().message(),
              HasSubstr("truncated header"));
  // A sequence varint of more than 64 bits.
  const std::string overlong("\x03\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x01t\x01k", 16);
  EXPECT_EQ(DecodeRecord(overlong).status().code(), absl::StatusCode::kDataLoss);
}

TEST(SyncMark, RoundTripsAndIsNoMutationRecord) {
  const std::string mark = EncodeSyncMark(123'456'789);
  EXPECT_TRUE(IsSyncMark(mark));
  EXPECT_EQ(DecodeSyncMark(mark).value(), 123'456'789u);
  EXPECT_EQ(DecodeSyncMark(mark + "x").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeSyncMark(mark.substr(0, 1)).status().code(), absl::StatusCode::kDataLoss);
  // A reader that skips no marks refuses them rather than taking them for a mutation.
  EXPECT_THAT(DecodeRecord(mark).status().message(), HasSubstr("malformed record"));
  EXPECT_FALSE(IsSyncMark(std::string("\x03\x00\x01\x01t\x01k", 7)));
}

TEST(FrameReader, FindsWhatTheSyncMarksAfterAnOffsetClaimAcrossABadStretch) {
  std::string log;
  AppendFrame(EncodeSyncMark(900), &log);  // before `from`: not looked at from there
  const size_t from = log.size();
  AppendFrame(EncodeSyncMark(4), &log);
  log += std::string(7, '\0');  // a hole
  log += "garbage";
  AppendFrame(EncodeSyncMark(7), &log);
  AppendFrame(std::string("\x03\x00\x01\x01t\x01k", 7), &log);
  AppendFrame(EncodeSyncMark(6), &log);
  AppendFrame(std::string(1, static_cast<char>(kSyncMarkKind)), &log);  // malformed: no claim
  const FrameReader reader(log);
  EXPECT_EQ(reader.SyncClaimAfter(from), 7u);  // none claims past `from`: the largest
  EXPECT_EQ(reader.SyncClaimAfter(0), 900u);   // the first claim past 0 ends the scan
  EXPECT_EQ(reader.SyncClaimAfter(5), 7u);     // 4 does not reach past 5; 7 does
  EXPECT_EQ(reader.SyncClaimAfter(log.size()), std::nullopt);
}

}  // namespace
}  // namespace hotpath
