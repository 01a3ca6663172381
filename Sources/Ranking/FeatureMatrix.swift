/// The ordered feature names a model reads; column `i` of a `FeatureMatrix` is `names[i]`.
public struct FeatureSchema: Hashable, Sendable {
  /// Feature names in column order.
  public let names: [String]

  /// A schema over `names`. Precondition: no duplicates.
  public init(_ names: [String]) {
    precondition(Set(names).count == names.count, "duplicate feature names in schema")
    self.names = names
  }

  /// Number of columns.
  public var count: Int { names.count }

  /// The column of `name`, or nil.
  public func column(_ name: String) -> Int? { names.firstIndex(of: name) }
}

/// A dense candidates x features matrix, row-major `Float`s; NaN marks a missing value.
///
/// Reused across requests by resetting (`reset(rows:)`) so steady-state scoring allocates nothing.
/// Not thread-safe: one per request.
public struct FeatureMatrix: Sendable {
  /// Number of features per row.
  public let columns: Int
  /// Number of candidate rows.
  public private(set) var rows: Int
  /// Row-major storage, `rows * columns` values.
  public private(set) var values: [Float]

  /// A zero-row matrix with `columns` features.
  public init(columns: Int, capacity: Int = 1_024) {
    self.columns = columns
    self.rows = 0
    self.values = []
    values.reserveCapacity(capacity * columns)
  }

  /// Resizes to `rows` rows, all values missing (NaN). Keeps capacity.
  public mutating func reset(rows: Int) {
    self.rows = rows
    values.removeAll(keepingCapacity: true)
    values.append(contentsOf: repeatElement(Float.nan, count: rows * columns))
  }

  /// Runs `body` over the row-major cells (`rows * columns`), for filling loops that should not
  /// pay an index and uniqueness check per cell.
  public mutating func withUnsafeMutableCells<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
    try values.withUnsafeMutableBufferPointer { try body($0) }
  }

  /// The value at `row`, `column`.
  public subscript(row: Int, column: Int) -> Float {
    get { values[row * columns + column] }
    set { values[row * columns + column] = newValue }
  }
}
