/// A dense document id: the position of an item in one index generation, `0..<itemCount`.
///
/// Dense ids index arrays directly (postings, columns, neighbour lists); they are only meaningful
/// within the generation that assigned them. External callers only ever see `ItemID` strings.
public struct DocID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
  /// The array position, `0..<itemCount` of the owning generation.
  public var rawValue: UInt32

  /// Wraps a raw position; no range check (the generation that hands it out owns that).
  @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }

  /// Wraps an `Int` position. Precondition: `0 <= index <= UInt32.max`.
  @inlinable public init(_ index: Int) { self.rawValue = UInt32(index) }

  /// The position as an `Int`, for subscripting arrays.
  @inlinable public var index: Int { Int(rawValue) }

  @inlinable public static func < (lhs: DocID, rhs: DocID) -> Bool { lhs.rawValue < rhs.rawValue }

  public var description: String { "#\(rawValue)" }
}

/// The external, stable id of an item as the storefront knows it (a SKU or product code).
public typealias ItemID = String

/// The external id of a user (a customer number, or an anonymous cookie id).
public typealias UserID = String

/// Limits on external ids, shared by validation everywhere (API, events, ingest).
public enum IDLimits {
  /// Longest accepted id, in UTF-8 bytes.
  public static let maxIDBytes = 256
}
