import Foundation
import FunnelCore

/// Real-time activity of one item: event counts per kind in a 1-hour and a 24-hour window, kept as
/// exponentially decayed counts (half-lives of 1 h and 24 h), which need no per-bucket state and
/// update in O(1) per event. Layout (also the packed Redis value): the time of the last update (Unix
/// ms), then per kind view, click, add_to_cart, purchase the 1 h and the 24 h count.
public struct ItemActivity: Hashable, Sendable {
  /// Kinds counted, in layout order.
  public static let kinds: [EventKind] = [.view, .click, .addToCart, .purchase]
  /// Feature names of the counts, in layout order (`rt.views_1h`, `rt.views_24h`, ...).
  public static let featureNames: [String] = kinds.flatMap { kind -> [String] in
    let name = switch kind {
    case .view: "views"
    case .click: "clicks"
    case .addToCart: "carts"
    default: "purchases"
    }
    return ["rt.\(name)_1h", "rt.\(name)_24h"]
  }
  static let halfLivesMs: [Double] = [3_600_000, 86_400_000]

  /// Unix ms of the newest event counted.
  public var updatedMs: Double
  /// Decayed counts as of `updatedMs`, `featureNames` order. Inline (no heap storage): a request
  /// copies hundreds of these, and a cache holds and drops tens of thousands at a time.
  public var counts: SIMD8<Double>

  /// No activity.
  public init(updatedMs: Double = 0, counts: SIMD8<Double> = .zero) {
    self.updatedMs = updatedMs
    self.counts = counts
  }

  /// Counts one event of `kind` at `timestampMs` (late events count with their decay).
  public mutating func add(_ kind: EventKind, at timestampMs: Int64) {
    guard let k = Self.kinds.firstIndex(of: kind) else { return }
    let t = Double(timestampMs)
    if t >= updatedMs {
      counts = decayed(to: t)
      updatedMs = t
      counts[2 * k] += 1
      counts[2 * k + 1] += 1
    } else {
      let (hour, day) = Self.decayFactors(age: updatedMs - t)
      counts[2 * k] += hour
      counts[2 * k + 1] += day
    }
  }

  /// The counts decayed to `nowMs` (unchanged if `nowMs` is not later).
  public func decayed(to nowMs: Double) -> SIMD8<Double> {
    let (hour, day) = decayFactors(to: nowMs)
    return counts * SIMD8(hour, day, hour, day, hour, day, hour, day)
  }

  /// The factors that decay the 1 h and the 24 h counts to `nowMs`: `count(i, at: nowMs)` is
  /// `counts[i]` times the first (even `i`) or the second (odd `i`). Two powers, no allocation.
  @inline(__always) public func decayFactors(to nowMs: Double) -> (Double, Double) {
    Self.decayFactors(age: max(0, nowMs - updatedMs))
  }

  /// The one decay formula: what `age` ms leave of a count in the 1 h and in the 24 h window.
  @inline(__always) static func decayFactors(age: Double) -> (Double, Double) {
    (pow(0.5, age / halfLivesMs[0]), pow(0.5, age / halfLivesMs[1]))
  }

  /// Count `index` (`featureNames` order) decayed to `nowMs`. O(1), no allocation.
  @inline(__always) public func count(_ index: Int, at nowMs: Double) -> Double {
    let (hour, day) = decayFactors(to: nowMs)
    return counts[index] * (index % 2 == 0 ? hour : day)
  }

  /// The packed form: 9 little-endian doubles (72 bytes).
  public var packed: [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(72)
    withUnsafeBytes(of: updatedMs.bitPattern.littleEndian) { bytes += $0 }
    for i in 0..<8 { withUnsafeBytes(of: counts[i].bitPattern.littleEndian) { bytes += $0 } }
    return bytes
  }

  /// Reads the packed form from raw bytes (e.g. a store's reply buffer); nil if it is not 72 bytes.
  public init?(packed raw: UnsafeRawBufferPointer) {
    guard raw.count == 72 else { return nil }
    var counts = SIMD8<Double>.zero
    for i in 0..<8 { counts[i] = Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * (i + 1), as: UInt64.self))) }
    self.init(updatedMs: Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))),
              counts: counts)
  }

  /// Reads the packed form; nil if it is not 72 bytes.
  public init?(packed bytes: [UInt8]) {
    guard let activity = bytes.withUnsafeBytes({ ItemActivity(packed: $0) }) else { return nil }
    self = activity
  }
}

/// Real-time item activity for a request's candidates. Thread-safe; network-backed implementations
/// answer in one round trip.
public protocol ItemActivitySource: Sendable {
  /// The activity of each of `items` (nil: none recorded), in the same order.
  func itemActivity(_ items: [ItemID]) async throws -> [ItemActivity?]

  /// The activity of each of `docs`, documents of the index generation named `generation`, in the
  /// same order; `appendID` appends a document's item id, UTF-8, to a buffer. A cache may key by
  /// document and read only the items it has to; a network store may write its keys straight from
  /// those bytes (no `String` per item: a search reads up to 1,000). By default every id is made
  /// and `itemActivity(_:)` answers.
  func itemActivity(of docs: [DocID], generation: String,
                    appendID: (DocID, inout [UInt8]) -> Void) async throws -> [ItemActivity?]
}

extension ItemActivitySource {
  /// Makes every document's id (`appendID`) and asks `itemActivity(_:)`: for sources without a
  /// per-document path. O(docs) ids made.
  public func itemActivity(of docs: [DocID], generation: String,
                           appendID: (DocID, inout [UInt8]) -> Void) async throws -> [ItemActivity?] {
    var bytes: [UInt8] = []
    let ids = docs.map { doc -> ItemID in
      bytes.removeAll(keepingCapacity: true)
      appendID(doc, &bytes)
      return String(decoding: bytes, as: UTF8.self)
    }
    return try await itemActivity(ids)
  }
}
