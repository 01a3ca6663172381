/// Which primary serves each of a Redis Cluster's 16,384 slots, read from `CLUSTER SLOTS` and
/// patched by `MOVED` redirections. Pure value (no I/O); lookups O(1). Thread-safe as a value.
struct RedisSlotMap: Sendable, Equatable {
  /// The primaries, as `host:port`, in the order first seen.
  private(set) var nodes: [NodeAddress]
  /// `owner[slot]`: index into `nodes`, or -1 when no primary serves the slot.
  private var owner: [Int16]

  /// A node's address.
  struct NodeAddress: Hashable, Sendable {
    var host: String
    var port: Int
    var text: String { "\(host):\(port)" }
  }

  /// An empty map (every slot unserved).
  init() {
    nodes = []
    owner = Array(repeating: -1, count: RedisSlot.count)
  }

  /// Parses a `CLUSTER SLOTS` reply: `[[start, end, [ip, port, id, ...], replicas...], ...]`.
  /// An empty ip means the node that answered (`askedHost`). Throws on a malformed reply.
  init(clusterSlots reply: RedisReply, askedHost: String) throws {
    self.init()
    guard case .array(let ranges) = reply else {
      if case .error(let message) = reply { throw RedisError("CLUSTER SLOTS: \(message)") }
      throw RedisError("CLUSTER SLOTS: unexpected reply")
    }
    for range in ranges {
      guard case .array(let parts) = range, parts.count >= 3,
            case .integer(let start) = parts[0], case .integer(let end) = parts[1],
            0 <= start, start <= end, end < RedisSlot.count,
            case .array(let primary) = parts[2], primary.count >= 2,
            let ip = primary[0].string, case .integer(let port) = primary[1], (1...65_535).contains(port) else {
        throw RedisError("CLUSTER SLOTS: malformed range \(range)")
      }
      let node = NodeAddress(host: ip.isEmpty || ip == "?" ? askedHost : ip, port: Int(port))
      let index = self.index(of: node)
      for slot in Int(start)...Int(end) { owner[slot] = Int16(index) }
    }
  }

  /// The primary serving `slot`, nil when none does.
  func node(forSlot slot: Int) -> NodeAddress? {
    let index = owner[slot]
    return index < 0 ? nil : nodes[Int(index)]
  }

  /// The primaries serving at least one slot, in first-seen order.
  var servingNodes: [NodeAddress] {
    var serving = [Bool](repeating: false, count: nodes.count)
    for index in owner where index >= 0 { serving[Int(index)] = true }
    return nodes.indices.filter { serving[$0] }.map { nodes[$0] }
  }

  /// Slots served by some primary.
  var coveredSlots: Int { owner.lazy.filter { $0 >= 0 }.count }

  /// Records a `MOVED`: `slot` is now served by `node`.
  mutating func move(slot: Int, to node: NodeAddress) {
    owner[slot] = Int16(index(of: node))
  }

  private mutating func index(of node: NodeAddress) -> Int {
    if let i = nodes.firstIndex(of: node) { return i }
    nodes.append(node)
    return nodes.count - 1
  }

  /// A redirection in an error reply: `MOVED 3999 127.0.0.1:6381` or `ASK 3999 127.0.0.1:6381`.
  enum Redirection: Equatable {
    case moved(slot: Int, to: NodeAddress)
    case ask(slot: Int, to: NodeAddress)
  }

  /// The redirection `message` (an error reply's text) asks for, if it is one.
  static func redirection(_ message: String) -> Redirection? {
    let parts = message.split(separator: " ")
    guard parts.count == 3, parts[0] == "MOVED" || parts[0] == "ASK", let slot = Int(parts[1]),
          (0..<RedisSlot.count).contains(slot), let colon = parts[2].lastIndex(of: ":"),
          let port = Int(parts[2][parts[2].index(after: colon)...]), (1...65_535).contains(port) else { return nil }
    let node = NodeAddress(host: String(parts[2][..<colon]), port: port)
    return parts[0] == "MOVED" ? .moved(slot: slot, to: node) : .ask(slot: slot, to: node)
  }
}
