/// Where the indicator rollups live: in process (`MemoryRollupStore`, the embedded default) or in
/// Redis (shared, so every replica's dashboard shows the fleet). Buckets are keyed by their start
/// in Unix seconds; the stores expire them after each resolution's retention. Thread-safe.
public protocol RollupStore: Sendable {
  /// Adds a tally's increments to the second, minute and hour buckets holding them (fields with
  /// dimensions to minutes and hours only), its top-list scores to their minutes, and counts its
  /// customers as new or returning. A bucket holds at most `maxFieldsPerBucket` fields: new fields
  /// past that count under their `IndicatorField.overflow` name. Throws when the store fails
  /// (nothing or part of the tally may have been applied).
  func apply(_ tally: IndicatorTally) async throws

  /// The buckets of `resolution` starting in `from...through` (Unix seconds) that hold anything;
  /// with `dimensions` false, their fields without dimensions only.
  func buckets(_ resolution: Resolution, from: Int64, through: Int64, dimensions: Bool) async throws -> [Int64: [String: Double]]

  /// The `limit` best keys of top list `list` (`item`, `category`) over the minutes starting in
  /// `from...through`, best first (ties by key).
  func top(_ list: String, from: Int64, through: Int64, limit: Int) async throws -> [(key: String, score: Double)]
}

/// Limits shared by the stores.
public enum RollupLimits {
  /// Fields a bucket holds before new ones count as `other`.
  public static let maxFieldsPerBucket = 4_096
  /// Keys a minute's top list holds before new ones are dropped.
  public static let maxTopKeysPerMinute = 20_000
}
