import ArgumentParser
import FunnelGRPC
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import SwiftProtobuf

/// `funnel query`: one call against a running server, printed as a table or JSON.
struct Query: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Call a running Funnel server once and print the answer.",
    subcommands: [RecommendQuery.self, SearchQuery.self, SuggestQuery.self, TrackQuery.self, StatusQuery.self, HealthQuery.self])
}

/// Connection options shared by the query subcommands.
struct TargetOptions: ParsableArguments {
  @Option(help: "Server address HOST:PORT (default 127.0.0.1:50051; the Admin calls: the admin listener, 127.0.0.1:50052).")
  var target: String?
  @Option(help: "Deadline of the call, in milliseconds.") var timeoutMs = 5_000
  @Flag(help: "Print the response as protobuf JSON instead of a table.") var json = false
  @OptionGroup var security: ClientSecurityOptions

  /// The public listener's address unless `--target` says otherwise.
  static let apiTarget = "127.0.0.1:50051"
  /// The admin listener's address unless `--target` says otherwise.
  static let adminTarget = "127.0.0.1:50052"

  /// Runs `body` with a client connected to `--target` (`defaultTarget` without one).
  func withClient<R: Sendable>(defaultTarget: String = apiTarget,
                               _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> R) async throws -> R {
    let (host, port) = try parseTarget(target ?? defaultTarget)
    let security = self.security.value
    let transport = try HTTP2ClientTransport.Posix(target: .dns(host: host, port: port),
                                                   transportSecurity: security.transportSecurity)
    do {
      return try await withGRPCClient(transport: transport, interceptors: security.interceptors) { try await body($0) }
    } catch let error as RPCError {
      print("error: \(error.code): \(error.message)")
      throw ExitCode(1)
    }
  }

  var callOptions: CallOptions {
    var options = CallOptions.defaults
    options.timeout = .milliseconds(timeoutMs)
    return options
  }

  func printJSON(_ message: some SwiftProtobuf.Message) throws {
    var options = JSONEncodingOptions()
    options.preserveProtoFieldNames = true
    print(try message.jsonString(options: options))
  }
}

struct RecommendQuery: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "recommend", abstract: "Call Recommender.Recommend.")
  @OptionGroup var connection: TargetOptions
  @Option(help: "User id.") var user: String
  @Option(help: "Scene: home, item_page, cart, email.") var scene = "home"
  @Option(help: "Number of items.") var count = 10
  @Option(help: "Anchor item id (item page, cart); repeatable.") var anchor: [String] = []
  @Option(help: "Item id to exclude; repeatable.") var exclude: [String] = []
  @Option(help: "Rule expression, e.g. 'category:kitchen AND price:<20'.") var filter = ""
  @Flag(help: "Ask for per-stage timings and candidate counts.") var debug = false

  func run() async throws {
    var request = Funnel_V1_RecommendRequest()
    request.userID = user
    request.scene = switch scene {
    case "home": .home
    case "item_page": .itemPage
    case "cart": .cart
    case "email": .email
    case "search": .search
    default: throw ValidationError("--scene '\(scene)' is not one of home, item_page, cart, email")
    }
    request.count = UInt32(clamping: count)
    request.anchorItemIds = anchor
    request.excludeItemIds = exclude
    request.filter = filter
    request.debug = debug
    let options = connection.callOptions
    let response = try await connection.withClient {
      try await Funnel_V1_Recommender.Client(wrapping: $0).recommend(request, options: options)
    }
    if connection.json { return try connection.printJSON(response) }
    print("Recommend user=\(user) scene=\(scene) request_id=\(response.requestID) model=\(response.modelVersion) "
          + "index=\(response.indexVersion) arm=\(response.experimentArm)\(response.degraded ? " DEGRADED" : "")")
    printItems(response.items)
    if response.hasDebug { printDebug(response.debug) }
  }
}

struct SearchQuery: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "search", abstract: "Call Recommender.Search.")
  @OptionGroup var connection: TargetOptions
  @Option(help: "Query text.") var query: String
  @Option(help: "User id (optional).") var user = ""
  @Option(help: "Number of items.") var count = 10
  @Option(help: "Rule expression.") var filter = ""
  @Option(help: "A facet to count (brand, category, tag, price, price:0,10,25, attr.NAME); repeatable.") var facet: [String] = []
  @Option(help: "relevance, price_asc, price_desc, popularity, newest or attr.NAME:asc|desc.") var sort = ""
  @Option(help: "A previous answer's next cursor.") var cursor = ""
  @Flag(help: "Ask for per-stage timings and candidate counts.") var debug = false

  func run() async throws {
    var request = Funnel_V1_SearchRequest()
    request.query = query
    request.userID = user
    request.count = UInt32(clamping: count)
    request.filter = filter
    request.facets = facet
    request.sort = sort
    request.cursor = cursor
    request.debug = debug
    let options = connection.callOptions
    let response = try await connection.withClient {
      try await Funnel_V1_Recommender.Client(wrapping: $0).search(request, options: options)
    }
    if connection.json { return try connection.printJSON(response) }
    print("Search '\(query)' matches=\(response.totalMatches) request_id=\(response.requestID) "
          + "model=\(response.modelVersion) index=\(response.indexVersion)")
    let rewrite = response.rewrite
    if !rewrite.corrections.isEmpty || !rewrite.dropped.isEmpty {
      print("  searched as: " + (rewrite.corrections.map { "\($0.typed) -> \($0.replacement) (\($0.kind))" }
        + rewrite.dropped.map { "without \($0)" }).joined(separator: ", "))
    }
    printItems(response.items)
    for facet in response.facets {
      print("  \(facet.name): " + facet.values.map { "\($0.value) \($0.count)" }.joined(separator: ", "))
    }
    if !response.nextCursor.isEmpty { print("  next page: --cursor \(response.nextCursor)") }
    if response.hasDebug { printDebug(response.debug) }
  }
}

struct SuggestQuery: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "suggest", abstract: "Call Recommender.Suggest.")
  @OptionGroup var connection: TargetOptions
  @Option(help: "What was typed so far.") var prefix: String
  @Option(help: "User id (optional; personalises by their categories).") var user = ""
  @Option(help: "Number of suggestions (0: 8).") var count = 0

  func run() async throws {
    var request = Funnel_V1_SuggestRequest()
    request.prefix = prefix
    request.userID = user
    request.count = UInt32(clamping: count)
    let options = connection.callOptions
    let response = try await connection.withClient {
      try await Funnel_V1_Recommender.Client(wrapping: $0).suggest(request, options: options)
    }
    if connection.json { return try connection.printJSON(response) }
    for s in response.suggestions {
      print("  \(s.text)  [\(s.kind)\(s.category.isEmpty ? "" : ", " + s.category)]")
    }
  }
}

struct TrackQuery: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "track", abstract: "Send events with EventCollector.Track.")
  @OptionGroup var connection: TargetOptions
  @Option(help: "User id.") var user: String
  @Option(help: "Item id; repeatable (one event per item).") var item: [String]
  @Option(help: "Event type: view, click, add_to_cart, purchase, exposure.") var type = "view"
  @Option(help: "Prefix of the event ids (ids are PREFIX-N); reuse it to see idempotency.") var eventIDPrefix: String?
  @Option(help: "The answer that led to the events (its request_id), for attribution.") var requestID = ""
  @Option(help: "Units and unit price (purchases: business counters and attributed revenue).") var quantity: UInt32 = 0
  @Option(help: "Unit price.") var price = 0.0
  @Option(help: "ISO 3166 country code of the order or visit.") var country = ""

  func run() async throws {
    let kind: Funnel_V1_EventType = switch type {
    case "view": .view
    case "click": .click
    case "add_to_cart": .addToCart
    case "purchase": .purchase
    case "exposure": .exposure
    default: throw ValidationError("--type '\(type)' is not one of view, click, add_to_cart, purchase, exposure")
    }
    let prefix = eventIDPrefix ?? "cli-\(UInt64.random(in: 0...UInt64.max))"
    var request = Funnel_V1_TrackRequest()
    request.events = item.enumerated().map { (i, id) in
      var event = Funnel_V1_Event()
      event.eventID = "\(prefix)-\(i)"
      event.userID = user
      event.itemID = id
      event.type = kind
      event.requestID = requestID
      event.quantity = quantity
      event.price = price
      event.country = country
      return event
    }
    let options = connection.callOptions
    let response = try await connection.withClient {
      try await Funnel_V1_EventCollector.Client(wrapping: $0).track(request, options: options)
    }
    if connection.json { return try connection.printJSON(response) }
    print("accepted \(response.accepted), duplicates \(response.duplicates), rejected \(response.rejected.count)")
    for r in response.rejected { print("  event \(r.index) (\(r.eventID)): \(r.reason)") }
  }
}

struct StatusQuery: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "status", abstract: "Call Admin.Status (on the admin listener).")
  @OptionGroup var connection: TargetOptions

  func run() async throws {
    let options = connection.callOptions
    let s = try await connection.withClient(defaultTarget: TargetOptions.adminTarget) {
      try await Funnel_V1_Admin.Client(wrapping: $0).status(Funnel_V1_StatusRequest(), options: options)
    }
    if connection.json { return try connection.printJSON(s) }
    print("version \(s.version), store \(s.featureStore), index \(s.indexVersion), model \(s.modelVersion)")
    print("items \(s.itemCount), users \(s.userCount), events \(s.eventCount), up \(Int(s.uptimeSeconds)) s")
    print("channels \(s.channels.joined(separator: ", "))")
    print("filter sub-queries \(s.subqueryLookups): \(Int(s.subqueryLocalHitRate * 100))% in-process hits, "
          + "\(Int(s.subquerySharedHitRate * 100))% shared (Redis) hits")
    print("answers \(s.answers), degraded \(s.degradedAnswers)")
  }
}

struct HealthQuery: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "health", abstract: "Call grpc.health.v1.Health/Check.")
  @OptionGroup var connection: TargetOptions
  @Option(help: "Service name; empty = the whole server.") var service = ""

  func run() async throws {
    var request = Grpc_Health_V1_HealthCheckRequest()
    request.service = service
    let options = connection.callOptions
    let response = try await connection.withClient {
      try await Grpc_Health_V1_Health.Client(wrapping: $0).check(request, options: options)
    }
    print(response.status == .serving ? "SERVING" : "\(response.status)")
    if response.status != .serving { throw ExitCode(1) }
  }
}

private func printItems(_ items: [Funnel_V1_RecommendedItem]) {
  func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
  print(" #  \(pad("item", 12)) \(pad("score", 7)) \(pad("channels", 24)) reasons")
  for (i, item) in items.enumerated() {
    let score = (item.score * 10_000).rounded() / 10_000
    print(pad(" \(i + 1)", 4) + pad(item.itemID, 12) + " " + pad("\(score)", 7) + " "
          + pad(item.channels.joined(separator: ","), 24) + " " + item.reasons.joined(separator: "; "))
  }
}

private func printDebug(_ debug: Funnel_V1_DebugInfo) {
  print("timings: " + debug.timings.map { "\($0.stage) \($0.micros) µs" }.joined(separator: ", "))
  print("candidates: " + debug.channelCounts.map { "\($0.channel) \($0.candidates)" }.joined(separator: ", ")
        + "; merged \(debug.mergedCandidates), filtered out \(debug.filteredCandidates), ranked \(debug.rankedCandidates)")
  for item in debug.itemFeatures {
    print("features \(item.itemID): " + item.values.map { "\($0.name)=\($0.value.isNaN ? "missing" : "\($0.value)")" }
      .joined(separator: " "))
  }
}
