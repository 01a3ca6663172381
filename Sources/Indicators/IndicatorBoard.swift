/// Reads the rollups of a `RollupStore` into what the dashboard and the alarm rules need: sums over
/// windows, series, breakdowns, the funnel, top lists, recommendation performance. Thread-safe; each
/// call reads the store once or a few times.
public struct IndicatorBoard: Sendable {
  public let store: any RollupStore
  /// The fields the charts plot (totals only).
  public static let chartFields = [
    "orders.created", "orders.paid", "orders.cancelled", "orders.refunded", "amount.paid", "units",
    "events.view", "events.click", "events.add_to_cart", "events.purchase", "rec.impressions", "rec.clicks",
  ]

  /// A board over `store`.
  public init(store: any RollupStore) { self.store = store }

  /// The sums of every field over the `seconds` seconds ending with second `nowSecond` (inclusive):
  /// from second buckets when the window fits their retention, else from minute buckets (whole
  /// minutes overlapping the window), else hours.
  public func sums(seconds: Int64, endingAt nowSecond: Int64, dimensions: Bool = false) async throws -> [String: Double] {
    let resolution: Resolution = seconds <= Resolution.second.retentionSeconds && !dimensions ? .second
      : seconds <= Resolution.minute.dimensionRetentionSeconds ? .minute : .hour
    let from = resolution.bucket(of: nowSecond - seconds + 1)
    var out: [String: Double] = [:]
    for (_, fields) in try await store.buckets(resolution, from: from, through: nowSecond, dimensions: dimensions) {
      out.merge(fields, uniquingKeysWith: +)
    }
    return out
  }

  /// The series of `fields` at `resolution` over the `count` buckets ending with the one holding
  /// `nowSecond`, zeros where a bucket is empty.
  public func series(_ resolution: Resolution, count: Int, endingAt nowSecond: Int64, fields: [String] = chartFields) async throws -> SeriesBlock {
    let last = resolution.bucket(of: nowSecond)
    let first = last - Int64(max(1, count) - 1) * resolution.seconds
    let buckets = try await store.buckets(resolution, from: first, through: last, dimensions: false)
    let starts = Array(stride(from: first, through: last, by: Int(resolution.seconds)))
    var values: [String: [Double]] = [:]
    for field in fields { values[field] = starts.map { buckets[$0]?[field] ?? 0 } }
    return SeriesBlock(t: starts, values: values)
  }

  /// The tick: the last `seconds` per-second buckets, the tiles (last 60 s and today, UTC), `alarms`.
  public func tick(nowMs: Int64, seconds: Int = 5, alarms: [AlarmStatus]) async throws -> DashboardTick {
    let nowSecond = nowMs / 1000
    let recent = try await series(.second, count: seconds, endingAt: nowSecond)
    return DashboardTick(at: nowMs, seconds: recent, tiles: try await tiles(nowSecond: nowSecond), alarms: alarms)
  }

  /// The tiles as of `nowSecond`.
  public func tiles(nowSecond: Int64) async throws -> Tiles {
    let minute = try await sums(seconds: 60, endingAt: nowSecond)
    let dayStart = nowSecond - ((nowSecond % 86_400) + 86_400) % 86_400
    // Today: whole hours from the hour buckets, the current hour from its minutes.
    var today: [String: Double] = [:]
    let hourStart = Resolution.hour.bucket(of: nowSecond)
    if hourStart > dayStart {
      for (_, fields) in try await store.buckets(.hour, from: dayStart, through: hourStart - 1, dimensions: false) {
        today.merge(fields, uniquingKeysWith: +)
      }
    }
    for (_, fields) in try await store.buckets(.minute, from: hourStart, through: nowSecond, dimensions: false) {
      today.merge(fields, uniquingKeysWith: +)
    }
    return Tiles(window: TileValues(minute, seconds: 60), today: TileValues(today, seconds: Double(nowSecond - dayStart + 1)))
  }

  /// The full view as of `nowMs`.
  public func view(nowMs: Int64, currency: String, alarms: [AlarmStatus], health: [ReplicaHealth]) async throws -> DashboardView {
    let nowSecond = nowMs / 1000
    let tick = try await tick(nowMs: nowMs, alarms: alarms)
    let series: [String: SeriesBlock] = [
      "second": try await self.series(.second, count: 300, endingAt: nowSecond),
      "minute": try await self.series(.minute, count: 180, endingAt: nowSecond),
      "hour": try await self.series(.hour, count: 72, endingAt: nowSecond),
    ]
    let hour = try await sums(seconds: 3_600, endingAt: nowSecond, dimensions: true)
    var top: [String: [TopEntry]] = [:]
    for list in ["item", "category"] {
      for minutes in [5, 60] as [Int64] {
        let from = Resolution.minute.bucket(of: nowSecond) - (minutes - 1) * 60
        top["\(list == "item" ? "items" : "categories")_\(minutes)m"] = try await store.top(list, from: from, through: nowSecond, limit: 10)
          .map { TopEntry(key: $0.key, gmv: $0.score) }
      }
    }
    return DashboardView(tick: tick, currency: currency, series: series,
                         breakdowns: Self.breakdowns(hour), funnel: Self.funnel(hour),
                         top: top, recommendations: Self.recommendations(hour), health: health)
  }

  /// Rows per value of `country`, `source` and `category`, by paid amount, from a window's sums.
  public static func breakdowns(_ sums: [String: Double]) -> [String: [BreakdownRow]] {
    var rows: [String: [String: BreakdownRow]] = [:]
    for (field, value) in sums {
      let (metric, dims) = IndicatorField.parse(field)
      guard dims.count == 1, let (dimension, name) = dims.first, ["country", "source", "category"].contains(dimension) else { continue }
      var row = rows[dimension]?[name] ?? BreakdownRow(name: name, ordersPaid: 0, gmv: 0, units: 0, ordersCancelled: 0,
                                                          newCustomers: 0, returningCustomers: 0)
      switch metric {
      case "orders.paid": row.ordersPaid += value
      case "amount.paid": row.gmv += value
      case "units": row.units += value
      case "orders.cancelled": row.ordersCancelled += value
      case "customers.new": row.newCustomers += value
      case "customers.returning": row.returningCustomers += value
      default: continue
      }
      rows[dimension, default: [:]][name] = row
    }
    return rows.mapValues { $0.values.sorted { $0.gmv != $1.gmv ? $0.gmv > $1.gmv : $0.name < $1.name } }
  }

  /// The funnel from a window's sums.
  public static func funnel(_ sums: [String: Double]) -> [FunnelStep] {
    var steps: [FunnelStep] = []
    var previous: Double?
    for (name, field) in [("view", "events.view"), ("click", "events.click"), ("add_to_cart", "events.add_to_cart"),
                          ("purchase", "events.purchase")] {
      let count = sums[field] ?? 0
      let rate = previous.map { $0 > 0 ? count / $0 : 0 } ?? 1
      steps.append(FunnelStep(step: name, count: count, rate: rate))
      previous = count
    }
    return steps
  }

  /// Recommendation rows per scene and arm from a window's sums, most impressions first.
  public static func recommendations(_ sums: [String: Double]) -> [RecommendationRow] {
    var byOrigin: [AnswerOrigin: [String: Double]] = [:]
    for (field, value) in sums where field.hasPrefix("rec.") {
      let (metric, dims) = IndicatorField.parse(field)
      guard dims.count == 2, dims[0].0 == "scene", dims[1].0 == "arm" else { continue }
      byOrigin[AnswerOrigin(scene: dims[0].1, arm: dims[1].1), default: [:]][metric, default: 0] += value
    }
    return byOrigin.map { origin, m in
      let impressions = m["rec.impressions"] ?? 0
      let (clicks, carts, purchases) = (m["rec.clicks"] ?? 0, m["rec.carts"] ?? 0, m["rec.purchases"] ?? 0)
      let revenue = m["rec.revenue"] ?? 0
      let ctr = ConfidenceInterval.wilson(successes: clicks, trials: impressions)
      let cart = ConfidenceInterval.wilson(successes: carts, trials: impressions)
      let conversion = ConfidenceInterval.wilson(successes: purchases, trials: impressions)
      let rpm = ConfidenceInterval.mean(sum: revenue, sumOfSquares: m["rec.revenue_sq"] ?? 0, n: impressions)
      func rate(_ x: Double) -> Double { impressions > 0 ? x / impressions : 0 }
      return RecommendationRow(scene: origin.scene, arm: origin.arm, answers: m["rec.answers"] ?? 0, impressions: impressions,
                               clicks: clicks, carts: carts, purchases: purchases, revenue: revenue,
                               ctr: rate(clicks), ctrLow: ctr.low, ctrHigh: ctr.high,
                               cartRate: rate(carts), cartRateLow: cart.low, cartRateHigh: cart.high,
                               conversion: rate(purchases), conversionLow: conversion.low, conversionHigh: conversion.high,
                               revenuePerMille: rate(revenue) * 1000, revenuePerMilleLow: rpm.low * 1000,
                               revenuePerMilleHigh: rpm.high * 1000)
    }.sorted { $0.impressions != $1.impressions ? $0.impressions > $1.impressions : ($0.scene, $0.arm) < ($1.scene, $1.arm) }
  }
}
