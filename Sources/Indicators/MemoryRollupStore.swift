import Algorithms
import Synchronization

/// The rollups in process memory (one replica's view; the embedded default). Buckets older than
/// their resolution's retention, as of `now`, are removed when a bucket is added; fields with
/// dimensions leave minute buckets after `dimensionRetentionSeconds`. New and returning customers
/// are told apart by the ids seen before, in two generations of at most `maxCustomers / 2` each:
/// a customer not seen for longer than that window counts as new again (Redis remembers all).
/// Thread-safe (one lock; reads copy what they return).
public final class MemoryRollupStore: RollupStore {
  private struct Series {
    var buckets: [Int64: [String: Double]] = [:]
    /// Bucket starts, ascending (pruning walks from the front).
    var starts: [Int64] = []
    /// Index into `starts` of the first minute bucket whose dimensions are still kept.
    var dimensionsFrom = 0
  }
  private struct State {
    var series: [Resolution: Series] = [:]
    var top: [Int64: [String: Double]] = [:]
    var topStarts: [Int64] = []
    var customers: Set<String> = []
    var previousCustomers: Set<String> = []
  }
  private let state = Mutex(State())
  private let now: @Sendable () -> Int64
  /// Customer ids remembered (two generations).
  public let maxCustomers: Int
  /// How long top lists are kept, seconds.
  public static let topRetentionSeconds: Int64 = 2 * 3_600

  /// A store whose clock is `now` (Unix ms; a replay's clock when serving a historical data set).
  public init(now: @escaping @Sendable () -> Int64, maxCustomers: Int = 2_000_000) {
    self.now = now
    self.maxCustomers = max(2, maxCustomers)
  }

  public func apply(_ tally: IndicatorTally) async throws {
    let nowSecond = now() / 1000
    state.withLock { s in
      for mark in tally.customers {
        let new: Bool
        if mark.customer.isEmpty {
          new = true
        } else if s.customers.contains(mark.customer) {
          new = false
        } else {
          new = !s.previousCustomers.contains(mark.customer)
          s.customers.insert(mark.customer)
          if s.customers.count >= maxCustomers / 2 {
            s.previousCustomers = s.customers
            s.customers = []
          }
        }
        for field in mark.fields(new: new) { Self.add(field, 1, second: mark.second, nowSecond: nowSecond, &s) }
      }
      for (second, fields) in tally.fields {
        for (field, value) in fields { Self.add(field, value, second: second, nowSecond: nowSecond, &s) }
      }
      for (minute, scores) in tally.top where minute > nowSecond - Self.topRetentionSeconds {
        if s.top[minute] == nil {
          s.top[minute] = [:]
          Self.insertSorted(minute, into: &s.topStarts)
          while let first = s.topStarts.first, first <= nowSecond - Self.topRetentionSeconds {
            s.topStarts.removeFirst()
            s.top[first] = nil
          }
        }
        for (key, score) in scores {
          if s.top[minute]?[key] == nil, (s.top[minute]?.count ?? 0) >= RollupLimits.maxTopKeysPerMinute { continue }
          s.top[minute]?[key, default: 0] += score
        }
      }
    }
  }

  public func buckets(_ resolution: Resolution, from: Int64, through: Int64, dimensions: Bool) async throws -> [Int64: [String: Double]] {
    state.withLock { s in
      guard let series = s.series[resolution] else { return [:] }
      var out: [Int64: [String: Double]] = [:]
      let first = resolution.bucket(of: from)
      var i = series.starts.partitioningIndex { $0 >= first }
      while i < series.starts.count, series.starts[i] <= through {
        let start = series.starts[i]
        if let fields = series.buckets[start] {
          out[start] = dimensions ? fields : fields.filter { !IndicatorField.hasDimensions($0.key) }
        }
        i += 1
      }
      return out
    }
  }

  public func top(_ list: String, from: Int64, through: Int64, limit: Int) async throws -> [(key: String, score: Double)] {
    let prefix = list + "|"
    let merged = state.withLock { s -> [String: Double] in
      var merged: [String: Double] = [:]
      for (minute, scores) in s.top where minute >= from && minute <= through {
        for (key, score) in scores where key.hasPrefix(prefix) { merged[String(key.dropFirst(prefix.count)), default: 0] += score }
      }
      return merged
    }
    return Array(merged.map { (key: $0.key, score: $0.value) }
      .sorted { $0.score != $1.score ? $0.score > $1.score : $0.key < $1.key }.prefix(max(0, limit)))
  }

  private static func add(_ field: String, _ value: Double, second: Int64, nowSecond: Int64, _ s: inout State) {
    let dimensional = IndicatorField.hasDimensions(field)
    for resolution in Resolution.allCases {
      let keep = dimensional ? resolution.dimensionRetentionSeconds : resolution.retentionSeconds
      let start = resolution.bucket(of: second)
      guard keep > 0, start + resolution.seconds > nowSecond - keep else { continue }
      var series = s.series[resolution] ?? Series()
      if series.buckets[start] == nil {
        series.buckets[start] = [:]
        insertSorted(start, into: &series.starts)
        prune(&series, resolution: resolution, nowSecond: nowSecond)
      }
      if series.buckets[start]?[field] == nil, (series.buckets[start]?.count ?? 0) >= RollupLimits.maxFieldsPerBucket {
        series.buckets[start]?[IndicatorField.overflow(field), default: 0] += value
      } else {
        series.buckets[start]?[field, default: 0] += value
      }
      s.series[resolution] = series
    }
  }

  /// Drops buckets past retention and, in minutes, the dimension fields past theirs.
  private static func prune(_ series: inout Series, resolution: Resolution, nowSecond: Int64) {
    var drop = 0
    while drop < series.starts.count, series.starts[drop] + resolution.seconds <= nowSecond - resolution.retentionSeconds {
      series.buckets[series.starts[drop]] = nil
      drop += 1
    }
    if drop > 0 {
      series.starts.removeFirst(drop)
      series.dimensionsFrom = max(0, series.dimensionsFrom - drop)
    }
    guard resolution.dimensionRetentionSeconds < resolution.retentionSeconds else { return }
    while series.dimensionsFrom < series.starts.count,
          series.starts[series.dimensionsFrom] + resolution.seconds <= nowSecond - resolution.dimensionRetentionSeconds {
      let start = series.starts[series.dimensionsFrom]
      series.buckets[start] = series.buckets[start]?.filter { !IndicatorField.hasDimensions($0.key) }
      series.dimensionsFrom += 1
    }
  }

  private static func insertSorted(_ value: Int64, into array: inout [Int64]) {
    if let last = array.last, last < value { array.append(value); return }
    array.insert(value, at: array.partitioningIndex { $0 >= value })
  }
}
