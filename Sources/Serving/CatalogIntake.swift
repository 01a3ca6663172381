import Foundation
import FunnelCore
import IndexFormat
import Synchronization

/// Where accepted catalog changes go: the fleet's change feed (Redis), which every replica follows
/// and lays over its generation. Thread-safe.
public protocol CatalogChangeSink: Sendable {
  /// Number of changes in the feed (bounded by `ServingConfiguration.maxCatalogChanges`).
  func length() async throws -> Int
  /// Appends `changes` in order; returns their feed positions. Throws `unavailable` when the store fails.
  func append(_ changes: [CatalogChange]) async throws -> [String]
}

/// UpsertItems and DeleteItems: validates a batch of catalog changes and appends it to the change
/// feed; without a feed (one process) keeps the feed itself and lays it over the generation at
/// once. The feed is bounded: past `maxCatalogChanges` a batch is refused (RESOURCE_EXHAUSTED)
/// until a generation folds the changes in. Thread-safe.
final class CatalogIntake: Sendable {
  /// Most changes one call may carry.
  static let maxBatch = 1_000
  let sink: (any CatalogChangeSink)?
  let maxChanges: Int
  let state: ServingState
  let now: @Sendable () -> Int64
  private let local = Mutex<(entries: [CatalogFeedEntry], sequence: Int)>(([], 0))

  init(sink: (any CatalogChangeSink)?, maxChanges: Int, state: ServingState, now: @escaping @Sendable () -> Int64) {
    self.sink = sink
    self.maxChanges = maxChanges
    self.state = state
    self.now = now
  }

  /// Validates `changes` against the serving generation (ids, categories, prices, embedding
  /// dimension) and appends them; returns the last feed position. Throws `invalidArgument` naming
  /// the first bad change (nothing is appended), `resourceExhausted` when the feed is full.
  func apply(_ changes: [CatalogChange], field: String) async throws -> String {
    guard !changes.isEmpty else { throw FunnelError.invalidArgument(field: field, "is empty") }
    guard changes.count <= Self.maxBatch else {
      throw FunnelError.invalidArgument(field: field, "has \(changes.count) entries (at most \(Self.maxBatch) per call)")
    }
    let dimension = state.generation.vectors?.dimension
    for (i, change) in changes.enumerated() { try Self.validate(change, at: "\(field)[\(i)]", dimension: dimension) }
    let held = try await sink?.length() ?? local.withLock { $0.entries.count }
    guard held + changes.count <= maxChanges else {
      throw FunnelError(.resourceExhausted,
                        "\(field): the catalog overlay holds \(held) changes (limit \(maxChanges)); build and publish a generation to fold them in")
    }
    if let sink { return try await sink.append(changes).last ?? "" }
    let ms = now()
    return local.withLock { feed in
      for change in changes {
        feed.sequence += 1
        feed.entries.append(CatalogFeedEntry(position: "\(ms)-\(feed.sequence)", change: change))
      }
      state.setCatalogChanges(feed.entries)
      return feed.entries.last?.position ?? ""
    }
  }

  static func validate(_ change: CatalogChange, at place: String, dimension: Int?) throws {
    let id = change.itemID
    guard !id.isEmpty, id.utf8.count <= IDLimits.maxIDBytes, !id.contains(where: \.isNewline) else {
      throw FunnelError.invalidArgument(field: place + ".id", "'\(id.prefix(64))' must be 1 to \(IDLimits.maxIDBytes) bytes without line breaks")
    }
    guard case .upsert(let item) = change else { return }
    guard !item.categoryPath.isEmpty, item.categoryPath.allSatisfy({ !$0.isEmpty }) else {
      throw FunnelError.invalidArgument(field: place + ".category", "is empty")
    }
    guard item.price.isFinite, item.price >= 0 else {
      throw FunnelError.invalidArgument(field: place + ".price", "\(item.price) must be a finite non-negative number")
    }
    guard item.title.utf8.count <= 4_096, item.tags.count <= 256, item.attributes.count <= 256 else {
      throw FunnelError.invalidArgument(field: place, "title over 4096 bytes, or over 256 tags or attributes")
    }
    for name in item.attributes.keys where !AttributeValue.isValidName(name) {
      throw FunnelError.invalidArgument(field: place + ".attrs", "'\(name.prefix(64))' is not a valid attribute name")
    }
    if !item.embedding.isEmpty {
      guard item.embedding.allSatisfy(\.isFinite) else {
        throw FunnelError.invalidArgument(field: place + ".embedding", "must be finite numbers")
      }
      if let dimension, item.embedding.count != dimension {
        throw FunnelError.invalidArgument(field: place + ".embedding", "has \(item.embedding.count) values; the catalog's have \(dimension)")
      }
    }
  }
}

/// A catalog item as the transports receive it (admin.proto's CatalogItem, the JSON API's): the
/// category as one `/`-joined path, attributes as text and number maps. Converted to a `CatalogItem`
/// in one place for both transports.
public struct CatalogItemInput: Sendable {
  public var id, title, category, brand: String
  public var price: Double
  public var tags: [String]
  /// Absent on the wire means in stock.
  public var inStock: Bool
  public var embedding: [Float]
  public var textAttributes: [String: String]
  public var numberAttributes: [String: Double]

  public init(id: String, title: String = "", category: String, brand: String = "", price: Double = 0, tags: [String] = [],
              inStock: Bool = true, embedding: [Float] = [], textAttributes: [String: String] = [:],
              numberAttributes: [String: Double] = [:]) {
    (self.id, self.title, self.category, self.brand, self.price, self.tags) = (id, title, category, brand, price, tags)
    (self.inStock, self.embedding, self.textAttributes, self.numberAttributes) = (inStock, embedding, textAttributes, numberAttributes)
  }

  /// The item; an attribute named both text and number is `invalidArgument` naming `place`.
  func item(at place: String) throws -> CatalogItem {
    var attributes: [String: AttributeValue] = [:]
    for (name, text) in textAttributes { attributes[name.lowercased()] = .text(text) }
    for (name, x) in numberAttributes {
      guard attributes.updateValue(.number(x), forKey: name.lowercased()) == nil else {
        throw FunnelError.invalidArgument(field: place + ".number_attributes", "'\(name.prefix(64))' is also a text attribute")
      }
    }
    let path = category.split(separator: "/").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    return CatalogItem(id: id, title: title, categoryPath: path, brand: brand, price: price, tags: tags, inStock: inStock,
                       embedding: embedding, attributes: attributes)
  }
}
