import FeatureStore
import FunnelCore

/// Joins served lists and the clicks that came back into per-scene, per-channel counts for the
/// online channel bandit: each shown item counts once as shown for the channel it was credited to
/// (`Exposure.channels`); a click carrying the answer's request id, by the user the list was for,
/// on an item of the list, counts once as clicked (a second click on it does not). A click read
/// before its list (the exposure log is written every 100 ms) waits up to `pendingMs` for it.
///
/// Bounded: the last `capacity` lists and `maxPending` waiting clicks are kept, the oldest dropped
/// first. Not thread-safe: one owner (the learner).
public struct ChannelClickTally: Sendable {
  /// Counts to add, by scene and channel.
  public struct Key: Hashable, Sendable {
    /// Scene raw value.
    public var scene: String
    /// Channel name.
    public var channel: String
    /// A key.
    public init(scene: String, channel: String) {
      self.scene = scene
      self.channel = channel
    }
  }

  /// Shown and clicked items to add.
  public struct Delta: Hashable, Sendable {
    /// Items shown.
    public var shown = 0
    /// Items clicked.
    public var clicked = 0
    /// Counts to add.
    public init(shown: Int = 0, clicked: Int = 0) {
      self.shown = shown
      self.clicked = clicked
    }
  }

  struct Served {
    var user: String
    var scene: String
    var channelByItem: [String: String]
    var clicked: Set<String> = []
  }

  let capacity: Int
  let maxPending: Int
  let pendingMs: Int64
  private var served: [String: Served] = [:]
  private var order: [String] = []
  private var head = 0
  private var pending: [(event: BehaviourEvent, seenMs: Int64)] = []
  private var deltas: [Key: Delta] = [:]

  /// A tally remembering `capacity` lists and `maxPending` early clicks for `pendingMs`.
  public init(capacity: Int = 200_000, maxPending: Int = 10_000, pendingMs: Int64 = 60_000) {
    self.capacity = max(1, capacity)
    self.maxPending = max(0, maxPending)
    self.pendingMs = pendingMs
  }

  /// Lists remembered now.
  public var remembered: Int { served.count }
  /// Clicks waiting for their list.
  public var waiting: Int { pending.count }

  /// Remembers `exposures`; with `count`, adds their shown items to the deltas (false when
  /// rebuilding memory from lists already counted). Waiting clicks whose list arrived are counted.
  public mutating func add(exposures: [Exposure], count: Bool = true, nowMs: Int64) {
    for e in exposures where served[e.requestID] == nil && e.channels.count == e.items.count {
      var byItem: [String: String] = [:]
      for (item, channel) in zip(e.items, e.channels) where !channel.isEmpty {
        if byItem[item] == nil { byItem[item] = channel }
        if count { deltas[Key(scene: e.scene, channel: channel), default: Delta()].shown += 1 }
      }
      served[e.requestID] = Served(user: e.userID, scene: e.scene, channelByItem: byItem)
      order.append(e.requestID)
      if served.count > capacity { evictOldest() }
    }
    if !pending.isEmpty {
      let waiting = pending
      pending.removeAll(keepingCapacity: true)
      for (event, seen) in waiting where nowMs - seen <= pendingMs { apply(event, seenMs: seen) }
    }
  }

  /// Counts the clicks among `events` (other kinds and clicks without a request id are ignored).
  public mutating func add(events: [BehaviourEvent], nowMs: Int64) {
    for event in events where event.kind == .click && !event.requestID.isEmpty { apply(event, seenMs: nowMs) }
  }

  /// The counts gathered since the last call.
  public mutating func drain() -> [Key: Delta] {
    defer { deltas.removeAll(keepingCapacity: true) }
    return deltas
  }

  private mutating func apply(_ event: BehaviourEvent, seenMs: Int64) {
    guard var list = served[event.requestID] else {
      if pending.count >= maxPending, !pending.isEmpty { pending.removeFirst() }
      if maxPending > 0 { pending.append((event, seenMs)) }
      return
    }
    guard list.user == event.userID, let channel = list.channelByItem[event.itemID], !list.clicked.contains(event.itemID) else { return }
    list.clicked.insert(event.itemID)
    served[event.requestID] = list
    deltas[Key(scene: list.scene, channel: channel), default: Delta()].clicked += 1
  }

  private mutating func evictOldest() {
    while served.count > capacity, head < order.count {
      served[order[head]] = nil
      head += 1
    }
    // Compact the order list once its dead prefix is as long as the live part.
    if head > 1_024, head * 2 > order.count {
      order.removeFirst(head)
      head = 0
    }
  }
}
