import Dispatch
import Synchronization

/// Runs `body` for indexes `0..<count` on up to `jobs` threads at once and returns the results
/// in index order. Workers take the next index as they finish the last (one slow item does not
/// idle the others). For CPU-bound work on values already in memory: backtests of a parameter
/// grid, chunks of a file. `body` must not touch shared mutable state.
public func parallelMap<T: Sendable>(_ count: Int, jobs: Int, _ body: @Sendable (Int) -> T) -> [T] {
    guard count > 0 else { return [] }
    let workers = max(1, min(jobs, count))
    if workers == 1 { return (0..<count).map(body) }
    let slots = ResultSlots<T>(count: count)
    DispatchQueue.concurrentPerform(iterations: workers) { _ in
        while true {
            let index = slots.next.add(1, ordering: .relaxed).oldValue
            guard index < count else { return }
            slots.store(body(index), at: index)
        }
    }
    return slots.results()
}

/// One slot per index, each written by exactly one worker (the one that took the index from
/// `next`) and read only after every worker has returned.
private final class ResultSlots<T>: @unchecked Sendable {
    let next = Atomic<Int>(0)
    private let storage: UnsafeMutableBufferPointer<T?>

    init(count: Int) {
        storage = .allocate(capacity: count)
        storage.initialize(repeating: nil)
    }

    func store(_ value: T, at index: Int) { storage[index] = value }

    func results() -> [T] { storage.map { $0! } }

    deinit {
        storage.deinitialize()
        storage.deallocate()
    }
}
