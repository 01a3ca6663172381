import AsyncHTTPClient
import Foundation
import FunnelCore
import NIOCore

/// Realistic shop traffic for the dashboard (`funnel simulate`), over Funnel's JSON API: shoppers
/// open their home page (`POST /v1/recommend`), view some of the items shown, click and add to cart
/// some (events carry the answer's `request_id`, so the recommendation indicators attribute them),
/// and a share of them order (`POST /v1/orders`: created, then paid a moment later). Orders arrive as
/// a Poisson process at `ordersPerSecond`; every order comes with `browsersPerOrder` sessions that
/// only browse. A sale `spike` multiplies the rate for `spikeSeconds`; a payment `outage` makes most
/// orders of its span end cancelled instead of paid. Customers return (2,000 of them, the
/// first ones most often), countries and traffic sources follow a fixed mix. Seeded: the same arguments send the
/// same traffic. Not thread-safe: one run at a time.
public struct ShopSimulation: Sendable {
  public var baseURL: String
  public var ordersPerSecond: Double
  public var seconds: Double
  /// (at second, factor): the rate is multiplied by `factor` from `at` for `spikeSeconds`.
  public var spike: (at: Double, factor: Double)?
  public var spikeSeconds: Double = 120
  /// (at second, length): payments fail from `at` for `length` seconds.
  public var outage: (at: Double, seconds: Double)?
  public var browsersPerOrder = 2
  public var seed: UInt64 = 1
  /// Authorization header value (`Bearer TOKEN`), if the server needs one.
  public var authorization: String?

  /// A simulation against `baseURL` (`http://127.0.0.1:8080`).
  public init(baseURL: String, ordersPerSecond: Double, seconds: Double) {
    self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
    self.ordersPerSecond = ordersPerSecond
    self.seconds = seconds
  }

  /// What a run sent and how the server answered.
  public struct Report: Sendable, Codable {
    public var sessions = 0
    public var recommendCalls = 0
    public var events = 0
    public var ordersCreated = 0
    public var ordersPaid = 0
    public var ordersCancelled = 0
    public var gmv = 0.0
    public var failedCalls = 0
    /// Unix ms the payment outage began (the first order placed during it), if there was one.
    public var outageStartedMs: Int64?
    /// The first failures' messages (at most 5).
    public var failures: [String] = []
  }

  static let countries = [("GB", 60), ("DE", 10), ("FR", 9), ("NL", 5), ("IE", 5), ("ES", 4), ("US", 4), ("AU", 3)]
  static let sources = [("search", 30), ("recommendation", 25), ("direct", 20), ("email", 15), ("ads", 10)]

  /// Runs for `seconds`, calling `progress` once a second with the report so far.
  public func run(progress: @escaping @Sendable (Double, Report) -> Void = { _, _ in }) async throws -> Report {
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(
      timeout: .init(connect: .seconds(3), read: .seconds(10)),
      connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 16)))
    let state = SimulationState(seed: seed)
    do {
      try await drive(client: client, state: state, progress: progress)
    } catch {
      try? await client.shutdown()
      throw error
    }
    try await client.shutdown()
    return await state.report
  }

  private func drive(client: HTTPClient, state: SimulationState, progress: @escaping @Sendable (Double, Report) -> Void) async throws {
    let started = ContinuousClock.now
    var nextOrder = 0.0, lastProgress = 0.0
    try await withThrowingTaskGroup(of: Void.self) { group in
      var inFlight = 0
      while true {
        let elapsed = Double((ContinuousClock.now - started) / .milliseconds(1)) / 1000
        if elapsed >= seconds { break }
        if elapsed - lastProgress >= 1 {
          lastProgress = elapsed
          progress(elapsed, await state.report)
        }
        if nextOrder > elapsed {
          try await Task.sleep(for: .milliseconds(Int64(min(100, (nextOrder - elapsed) * 1000) + 1)))
          continue
        }
        var rate = ordersPerSecond
        if let spike, elapsed >= spike.at, elapsed < spike.at + spikeSeconds { rate *= spike.factor }
        nextOrder += await state.exponential(mean: 1 / max(0.001, rate))
        let failing = outage.map { elapsed >= $0.at && elapsed < $0.at + $0.seconds } ?? false
        if failing, await state.report.outageStartedMs == nil {
          let now = Int64(Date().timeIntervalSince1970 * 1000)
          await state.count { if $0.outageStartedMs == nil { $0.outageStartedMs = now } }
        }
        // Bounded concurrency: a slow server slows the simulation instead of piling up tasks.
        if inFlight >= 256 { try await group.next(); inFlight -= 1 }
        group.addTask { await self.shopper(orders: true, paymentsFailing: failing, client: client, state: state) }
        inFlight += 1
        for _ in 0..<browsersPerOrder {
          if inFlight >= 256 { try await group.next(); inFlight -= 1 }
          group.addTask { await self.shopper(orders: false, paymentsFailing: false, client: client, state: state) }
          inFlight += 1
        }
      }
      try await group.waitForAll()
    }
  }

  /// One session: a home page, views, maybe a click and a cart, maybe an order.
  private func shopper(orders: Bool, paymentsFailing: Bool, client: HTTPClient, state: SimulationState) async {
    let (user, customer, country, source) = await state.shopper()
    let session = "S\(await state.nextID())"
    var items: [String] = []
    var requestID = ""
    do {
      let body = try await post(client, "/v1/recommend", json: ["user_id": user, "session_id": session, "scene": "home", "count": 12])
      requestID = body["request_id"] as? String ?? ""
      items = (body["items"] as? [[String: Any]] ?? []).compactMap { $0["item_id"] as? String }
      await state.count { $0.recommendCalls += 1; $0.sessions += 1 }
    } catch {
      await state.failed("recommend: \(error)")
      return
    }
    guard !items.isEmpty else { return }
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    var events: [[String: Any]] = []
    var sequence = 0
    func event(_ type: String, _ item: String, price: Double = 0) {
      sequence += 1
      events.append(["event_id": "E\(session)-\(sequence)", "user_id": user, "session_id": session, "item_id": item, "type": type,
                     "request_id": requestID, "country": country, "timestamp_ms": now, "price": price, "quantity": 1])
    }
    let viewed = await state.pick(items, count: 3)
    for item in viewed { event("view", item) }
    let clicked = await state.chance(orders ? 0.9 : 0.25) ? viewed.first : nil
    if let clicked {
      event("click", clicked)
      if await state.chance(orders ? 0.8 : 0.1) { event("add_to_cart", clicked) }
    }
    await send(events, client: client, state: state)
    guard orders else { return }
    let picked = await state.lines(from: [clicked ?? items[0]] + items.dropFirst(3).prefix(Int(await state.uniform() * 3)))
    let amount = picked.reduce(0) { $0 + $1.price * Double($1.quantity) }
    let lines: [[String: Any]] = picked.map { ["item_id": $0.item, "quantity": $0.quantity, "unit_price": $0.price] }
    // What is ordered was viewed and put in the cart first.
    events = []
    for line in picked.dropFirst() {
      event("view", line.item)
      event("add_to_cart", line.item)
    }
    await send(events, client: client, state: state)
    let orderID = "SIM-\(seed)-\(await state.nextID())"
    var order: [String: Any] = ["order_id": orderID, "state": "created", "customer_id": customer, "amount": amount, "currency": "GBP",
                                "lines": lines, "country": country, "source": source]
    do {
      _ = try await post(client, "/v1/orders", json: ["orders": [order]])
      await state.count { $0.ordersCreated += 1 }
      // Payment takes a moment; during an outage most payments fail and the order is cancelled.
      try await Task.sleep(for: .milliseconds(Int64(200 + (await state.uniform()) * 800)))
      let declined = await state.chance(0.9)
      let paid = !(paymentsFailing && declined)
      order["state"] = paid ? "paid" : "cancelled"
      _ = try await post(client, "/v1/orders", json: ["orders": [order]])
      if paid {
        await state.count { $0.ordersPaid += 1; $0.gmv += amount }
        var purchases: [[String: Any]] = []
        for (i, line) in lines.enumerated() {
          purchases.append(["event_id": "P\(orderID)-\(i)", "user_id": user, "session_id": session, "item_id": line["item_id"]!,
                            "type": "purchase", "request_id": requestID, "country": country, "price": line["unit_price"]!,
                            "quantity": line["quantity"]!])
        }
        _ = try await post(client, "/v1/events", json: ["events": purchases])
      } else {
        await state.count { $0.ordersCancelled += 1 }
      }
    } catch {
      await state.failed("orders: \(error)")
    }
  }

  /// Posts a session's events (none: nothing), counting them or the failure.
  private func send(_ events: [[String: Any]], client: HTTPClient, state: SimulationState) async {
    guard !events.isEmpty else { return }
    do {
      _ = try await post(client, "/v1/events", json: ["events": events])
      let sent = events.count
      await state.count { $0.events += sent }
    } catch {
      await state.failed("events: \(error)")
    }
  }

  private func post(_ client: HTTPClient, _ path: String, json: [String: Any]) async throws -> [String: Any] {
    var request = HTTPClientRequest(url: baseURL + path)
    request.method = .POST
    request.headers.add(name: "Content-Type", value: "application/json")
    if let authorization { request.headers.add(name: "Authorization", value: authorization) }
    request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
    let response = try await client.execute(request, timeout: .seconds(10))
    let body = try await response.body.collect(upTo: 4 << 20)
    guard (200..<300).contains(response.status.code) else {
      throw SimulationError(message: "\(path): HTTP \(response.status.code) \(String(buffer: body).prefix(200))")
    }
    let data = Data(body.readableBytesView)
    return (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
  }
}

/// A failed call of the simulation.
struct SimulationError: Error, CustomStringConvertible {
  var message: String
  var description: String { message }
}

/// The simulation's random numbers, ids, customers and counts, shared by its sessions.
actor SimulationState {
  private var rng: SplitMix64
  private var id = 0
  private(set) var report = ShopSimulation.Report()

  init(seed: UInt64) { rng = SplitMix64(seed: seed) }

  func nextID() -> Int { id += 1; return id }
  func uniform() -> Double { Double(rng.next() >> 11) / Double(1 << 53) }
  func chance(_ p: Double) -> Bool { uniform() < p }
  func exponential(mean: Double) -> Double { -log(max(1e-12, 1 - uniform())) * mean }

  func pick(_ items: [String], count: Int) -> [String] {
    Array(items.prefix(max(1, min(items.count, Int(uniform() * Double(count)) + 1))))
  }

  /// A user (returning ones more often: the square of a uniform favours the pool's start), their
  /// customer id, country and traffic source.
  func shopper() -> (user: String, customer: String, country: String, source: String) {
    let n = Int(uniform() * uniform() * 2_000)
    return ("U-\(n)", "C-\(n)", weighted(ShopSimulation.countries), weighted(ShopSimulation.sources))
  }

  /// Order lines of `items`: (item, quantity, unit price).
  func lines(from items: [String]) -> [(item: String, quantity: Int, price: Double)] {
    items.map { item in (item, 1 + Int(uniform() * uniform() * 4), Double(Int(uniform() * 6_000) + 199) / 100) }
  }

  func count(_ change: @Sendable (inout ShopSimulation.Report) -> Void) { change(&report) }

  func failed(_ message: String) {
    report.failedCalls += 1
    if report.failures.count < 5 { report.failures.append(message) }
  }

  private func weighted(_ options: [(String, Int)]) -> String {
    let total = options.reduce(0) { $0 + $1.1 }
    var r = Int(uniform() * Double(total))
    for (name, weight) in options {
      if r < weight { return name }
      r -= weight
    }
    return options[0].0
  }
}
