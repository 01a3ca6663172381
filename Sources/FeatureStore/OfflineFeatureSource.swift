import Foundation
import FunnelCore
import Synchronization

/// Where offline features come from (MongoDB in production). Thread-safe.
public protocol OfflineFeatureSource: Sendable {
  /// Every item's offline features, read in full (a start-up or scheduled snapshot).
  func loadItemFeatures() async throws -> ItemFeatureTable
  /// The numeric profile features of `users` (segments, lifetime value, price band, ...); users
  /// without a profile are absent from the result.
  func userFeatures(_ users: [UserID]) async throws -> [UserID: [String: Float]]
  /// Deletes `user`'s profile (ForgetUser); returns how many documents went. Idempotent.
  func forgetUser(_ user: UserID) async throws -> Int
}

extension OfflineFeatureSource {
  /// Sources without deletable profiles (fixed fakes) have nothing to forget.
  public func forgetUser(_ user: UserID) async throws -> Int { 0 }
}
