import FunnelCore

/// Offline features held in process: an items snapshot and numeric user profiles, e.g. computed
/// from a history by an evaluation instead of read from MongoDB. Immutable; thread-safe.
public struct InMemoryOfflineFeatures: OfflineFeatureSource {
  /// The items snapshot.
  public let items: ItemFeatureTable
  /// Numeric features per user.
  public let users: [UserID: [String: Float]]
  /// Every user feature name, sorted.
  public let userFeatureNames: [String]

  /// Features from values.
  public init(items: ItemFeatureTable, users: [UserID: [String: Float]]) {
    self.items = items
    self.users = users
    userFeatureNames = Set(users.values.flatMap(\.keys)).sorted()
  }

  public func loadItemFeatures() async throws -> ItemFeatureTable { items }

  public func userFeatures(_ ids: [UserID]) async throws -> [UserID: [String: Float]] {
    var found: [UserID: [String: Float]] = [:]
    for id in ids { if let row = users[id] { found[id] = row } }
    return found
  }
}
