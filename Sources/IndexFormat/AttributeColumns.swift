import FunnelCore
import MappedStorage

/// The optional `attributes` file of a generation: one `Double` column per numeric catalog attribute
/// (`attrs` values that are numbers), NaN where an item has no number for it. Range filters on
/// `attr.NAME` scan these columns; text values (and numbers, in canonical form) are keywords in
/// `KeywordIndex` under `attr.NAME`.
///
/// Sections: the sorted attribute names (a `StringColumn`), then one column per name in that order.
/// Written only when some item has a numeric attribute. Immutable; safe to share across threads.
public struct AttributeColumns: Sendable {
  /// The file's name inside a generation directory.
  public static let fileName = "attributes.fnl"
  static let kind = "ATTR"
  static let version: UInt32 = 1

  /// Attribute names, sorted.
  public let names: StringColumn
  private let columns: [ScalarView<Double>]

  /// Serialises the numeric attributes of `items` (doc id = position), or nil when there are none.
  public static func write(_ items: [CatalogItem]) -> [UInt8]? {
    var writer = Writer()
    for item in items { writer.add(item) }
    return writer.finish()?.bytes
  }

  /// Accumulates numeric attribute columns item by item (doc id = order of `add`); a column is
  /// created at its first number, NaN-filled for the docs before it. Not thread-safe.
  public struct Writer: Sendable {
    private var column: [String: Int] = [:]
    private var values: [[Double]] = []
    private var count = 0
    /// No attributes yet.
    public init() {}

    /// Adds the numeric attributes of `item` as the next doc. Amortised O(attributes).
    public mutating func add(_ item: CatalogItem) {
      for (name, value) in item.attributes {
        guard let number = value.number else { continue }
        if let i = column[name] {
          values[i].append(number)
        } else {
          column[name] = values.count
          values.append([Double](repeating: .nan, count: count) + [number])
        }
      }
      count += 1
      // Columns the item has no number for catch up with a NaN.
      for i in values.indices where values[i].count < count { values[i].append(.nan) }
    }

    /// The finished file, or nil when no item had a numeric attribute.
    public func finish() -> PendingFile? {
      let names = StringColumn.utf8Sorted(column.keys)
      guard !names.isEmpty else { return nil }
      var w = SectionedFileWriter()
      StringColumn.write(names, into: &w)
      for name in names { w.add(values[column[name]!]) }
      return w.file(kind: kind, formatVersion: version)
    }
  }

  /// Opens an attributes file of a generation with `documentCount` items. O(attributes).
  public init(_ region: ByteRegion, documentCount: Int, verifyChecksum: Bool) throws {
    let f = try SectionedFile(region, kind: Self.kind, versions: Self.version...Self.version, verifyChecksum: verifyChecksum)
    try f.require(sections: 2)
    names = try StringColumn(f, first: 0, sorted: true)
    try f.require(sections: 2 + names.count)
    columns = try (0..<names.count).map { try f.scalars(2 + $0, as: Double.self, expected: documentCount) }
  }

  /// The column of numeric attribute `name`, or nil when no item has a number for it. O(log attributes).
  public func column(_ name: String) -> ScalarView<Double>? {
    names.find(name).map { columns[$0] }
  }
}
