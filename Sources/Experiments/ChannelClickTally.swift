import FeatureStore
import FunnelCore

/// Joins served lists and the clicks that came back into per-scene, per-channel counts for the
/// online channel bandit: each shown item counts once as shown for the channel it was credited to
/// (`Exposure.channels`); a click carrying the answer's request id, by the user the list was for,
/// on an item of the list, counts once as clicked (a second click on it does not). A click read
/// before its list (the exposure log is written every 100 ms) waits up to `pendingMs` for it.
///
/// Bounded: the last `capacity` lists (~150 bytes each for ten items) and `maxPending` waiting
/// clicks are kept, the oldest dropped first. Channels other than the built-in ones
/// (`ChannelSet.named`) are not counted. Not thread-safe: one owner (the learner).
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

  /// One remembered list, compact (~150 bytes for ten items): hashes of the user and the items, the
  /// items' channels as indices into `ChannelSet.named`, clicked positions once any.
  struct Served {
    var user: UInt64
    var scene: String
    var items: [UInt64]
    var channels: [UInt8]
    var clicked: [Bool] = []
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
  public init(capacity: Int = 100_000, maxPending: Int = 10_000, pendingMs: Int64 = 60_000) {
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
      var list = Served(user: Self.hash(e.userID), scene: e.scene, items: [], channels: [])
      for (item, channel) in zip(e.items, e.channels) {
        guard let index = Self.channelIndex[channel] else { continue }
        list.items.append(Self.hash(item))
        list.channels.append(index)
        if count { deltas[Key(scene: e.scene, channel: channel), default: Delta()].shown += 1 }
      }
      served[e.requestID] = list
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
    guard list.user == Self.hash(event.userID), let position = list.items.firstIndex(of: Self.hash(event.itemID)) else { return }
    if list.clicked.isEmpty { list.clicked = [Bool](repeating: false, count: list.items.count) }
    guard !list.clicked[position] else { return }
    list.clicked[position] = true
    served[event.requestID] = list
    deltas[Key(scene: list.scene, channel: ChannelSet.named[Int(list.channels[position])].1), default: Delta()].clicked += 1
  }

  static let channelIndex = Dictionary(uniqueKeysWithValues: ChannelSet.named.enumerated().map { ($0.element.1, UInt8($0.offset)) })

  /// FNV-1a 64 of `text`: ids kept as 8 bytes (a collision within one list is ~2^-58 likely).
  static func hash(_ text: String) -> UInt64 { FNV1a.hash(text) }

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
