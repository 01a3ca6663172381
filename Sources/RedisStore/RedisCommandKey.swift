/// The key that decides where a command runs in a Redis Cluster: the first key it names (the
/// others must share its slot, which Redis itself checks with `CROSSSLOT`). Knows the commands
/// Funnel sends; any other command is taken to name its key first. Pure.
enum RedisCommandKey {
  /// The routing key of `command` (name first), or nil for a command without keys (`PING`,
  /// `PUBLISH`, `EVAL` with no keys, ...), which may run on any node.
  static func of(_ command: [[UInt8]]) -> [UInt8]? {
    guard let name = command.first else { return nil }
    switch uppercased(name) {
    case "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO":
      guard command.count > 3, let n = Int(String(decoding: command[2], as: UTF8.self)), n > 0 else { return nil }
      return command[3]
    case "XREAD", "XREADGROUP":
      guard let at = command.firstIndex(where: { uppercased($0) == "STREAMS" }), at + 1 < command.count else { return nil }
      return command[at + 1]
    case "XGROUP", "XINFO", "OBJECT", "MEMORY":
      return command.count > 2 ? command[2] : nil
    case "PING", "PUBLISH", "SUBSCRIBE", "PSUBSCRIBE", "SCRIPT", "INFO", "TIME", "CLUSTER", "COMMAND", "DBSIZE",
         "FLUSHALL", "FLUSHDB", "KEYS", "SCAN", "RANDOMKEY", "SENTINEL", "ASKING", "READONLY", "READWRITE", "AUTH",
         "SELECT", "HELLO", "CLIENT", "CONFIG", "DEBUG", "WAIT", "ECHO", "ROLE", "LASTSAVE", "SAVE", "BGSAVE",
         "BGREWRITEAOF", "SHUTDOWN", "FUNCTION", "ACL", "MULTI", "EXEC", "DISCARD", "QUIT", "RESET":
      return nil
    default:
      return command.count > 1 ? command[1] : nil
    }
  }

  private static func uppercased(_ bytes: [UInt8]) -> String {
    String(decoding: bytes.map { (97...122).contains($0) ? $0 - 32 : $0 }, as: UTF8.self)
  }
}
