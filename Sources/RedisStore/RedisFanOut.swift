import Synchronization

/// Runs one piece of work per element at once (a child task each; the first inline) and returns
/// the results in order, or throws the first element's error (after every piece has finished).
/// Children hand their results over through a lock, not as the task group's results: a group of
/// `Void` children is the plainest shape the runtime supports. Thread-safe.
enum RedisFanOut {
  static func map<Element: Sendable, Value: Sendable>(
    _ elements: [Element], _ body: @escaping @Sendable (Element) async throws -> Value
  ) async throws -> [Value] {
    guard elements.count > 1 else { return elements.isEmpty ? [] : [try await body(elements[0])] }
    let slots = Slots<Value>(count: elements.count)
    await withTaskGroup(of: Void.self) { group in
      for index in elements.indices.dropFirst() {
        let element = elements[index]
        group.addTask { await slots.run(index) { try await body(element) } }
      }
      await slots.run(0) { try await body(elements[0]) }
      await group.waitForAll()
    }
    return try slots.take()
  }

  private final class Slots<Value: Sendable>: Sendable {
    private struct State {
      var values: [Value?]
      var errors: [Int: any Error] = [:]
    }
    private let state: Mutex<State>

    init(count: Int) { state = Mutex(State(values: Array(repeating: nil, count: count))) }

    func run(_ index: Int, _ work: () async throws -> Value) async {
      do {
        let value = try await work()
        state.withLock { $0.values[index] = value }
      } catch {
        state.withLock { $0.errors[index] = error }
      }
    }

    func take() throws -> [Value] {
      try state.withLock { state in
        if let first = state.errors.keys.min(), let error = state.errors[first] { throw error }
        return state.values.map { $0! }
      }
    }
  }
}
