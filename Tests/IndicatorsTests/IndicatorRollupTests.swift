import FunnelCore
import FunnelTestSupport
import Indicators
import Testing

/// The indicators after replaying a known order log and its sessions equal the values computed
/// from the log on its own: every field of every minute (trade, the funnel, recommendation
/// performance per scene and arm; counts and sums exactly), the second and hour rollups, the top
/// lists, the tiles.
struct IndicatorRollupTests {
  static let start: Int64 = 1_790_000_000_000

  static func replay(_ log: KnownOrderLog, into store: any RollupStore, ledger: MemoryOrderLedger = MemoryOrderLedger(),
                     chunks: Int = 7, sessions: Bool = true) async throws {
    try await log.replay(into: store, ledger: ledger, chunks: chunks, sessions: sessions)
  }

  static func expectMatches(_ store: any RollupStore, _ log: KnownOrderLog) async throws {
    let differences = try await log.differences(in: store)
    #expect(differences.isEmpty, "\(differences.prefix(10))")
  }

  @Test func everyIndicatorEqualsTheLogsOwnComputation() async throws {
    let log = KnownOrderLog(seed: 7, orders: 400, startMs: Self.start)
    let fields = Set(log.expectedMinutes().values.flatMap(\.keys))
    for field in ["rec.clicks|scene=home|arm=default", "rec.revenue_sq|scene=cart|arm=ranker:b", "events.purchase|category=toys",
                  "customers.returning|source=email", "amount.refunded|country=GB"] {
      #expect(fields.contains(field), "the log must exercise \(field)")
    }
    let lastMs = log.changes.map(\.timestampMs).max()!
    let store = MemoryRollupStore(now: { lastMs })
    try await Self.replay(log, into: store)
    try await Self.expectMatches(store, log)
    // The tiles of the last minute are the minute rollups' sums.
    let board = IndicatorBoard(store: store)
    let tiles = try await board.tiles(nowSecond: lastMs / 1000)
    let window = try await board.sums(seconds: 60, endingAt: lastMs / 1000)
    #expect(tiles.window.ordersPaid == (window["orders.paid"] ?? 0))
    #expect(tiles.window.gmv == (window["amount.paid"] ?? 0))
    if tiles.window.ordersPaid > 0 { #expect(tiles.window.averageOrderValue == tiles.window.gmv / tiles.window.ordersPaid) }
  }

  @Test func repeatedDeliveriesCountOnce() async throws {
    let log = KnownOrderLog(seed: 3, orders: 50, startMs: Self.start)
    #expect(log.changes.count > log.firstSightings.count, "the log must hold repeats for this test to mean anything")
    let lastMs = log.changes.map(\.timestampMs).max()!
    let store = MemoryRollupStore(now: { lastMs })
    let ledger = MemoryOrderLedger()
    try await Self.replay(log, into: store, ledger: ledger)
    try await Self.replay(log, into: store, ledger: ledger, chunks: 3, sessions: false)
    try await Self.expectMatches(store, log)
  }

  @Test func bucketsPastRetentionAreDroppedAndDimensionsLeaveMinutesFirst() async throws {
    let now = Mutex<Int64>(Self.start)
    let store = MemoryRollupStore(now: { now.withLock { $0 } })
    var tally = IndicatorTally()
    tally.add("orders.paid", 1, at: Self.start / 1000)
    tally.add("orders.paid|country=GB", 1, at: Self.start / 1000)
    try await store.apply(tally)
    let minute = Resolution.minute.bucket(of: Self.start / 1000)
    // Three days later the minute keeps its total, not its dimension; seconds are gone.
    now.withLock { $0 = Self.start + 3 * 86_400_000 }
    var later = IndicatorTally()
    later.add("orders.paid", 1, at: now.withLock { $0 } / 1000)
    try await store.apply(later)
    let old = try await store.buckets(.minute, from: minute, through: minute, dimensions: true)
    #expect(old[minute] == ["orders.paid": 1])
    #expect(try await store.buckets(.second, from: Self.start / 1000, through: Self.start / 1000, dimensions: false).isEmpty)
    // Nine days later the minute is gone; the hour remains.
    now.withLock { $0 = Self.start + 9 * 86_400_000 }
    var last = IndicatorTally()
    last.add("orders.paid", 1, at: now.withLock { $0 } / 1000)
    try await store.apply(last)
    #expect(try await store.buckets(.minute, from: minute, through: minute, dimensions: true).isEmpty)
    #expect(try await store.buckets(.hour, from: minute - 3_600, through: minute, dimensions: true).values.first?["orders.paid|country=GB"] == 1)
  }

  @Test func aBucketHoldsAtMostItsCapOfFieldsAndCountsTheRestAsOther() async throws {
    let store = MemoryRollupStore(now: { Self.start })
    var tally = IndicatorTally()
    let second = Self.start / 1000
    for i in 0..<(RollupLimits.maxFieldsPerBucket + 50) { tally.add("orders.paid|source=s\(i)", 1, at: second) }
    try await store.apply(tally)
    let minute = try await store.buckets(.minute, from: second, through: second, dimensions: true).values.first ?? [:]
    #expect(minute.count == RollupLimits.maxFieldsPerBucket + 1)
    #expect(minute.values.reduce(0, +) == Double(RollupLimits.maxFieldsPerBucket + 50))
    #expect(minute["orders.paid|source=other"] == 50)
  }
}

import Synchronization
