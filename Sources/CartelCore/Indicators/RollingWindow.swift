/// A fixed-capacity ring of the last `capacity` values with their running sum (and, when asked
/// for, their sum of squares); storage is allocated once, so updates never allocate.
struct RollingWindow: Sendable {
    private var values: [Double]
    private var next = 0
    private(set) var count = 0
    private(set) var sum = 0.0
    private(set) var sumOfSquares = 0.0
    private let tracksSquares: Bool

    init(capacity: Int, tracksSquares: Bool = false) {
        precondition(capacity >= 1, "a window needs at least one value")
        values = Array(repeating: 0, count: capacity)
        self.tracksSquares = tracksSquares
    }

    var capacity: Int { values.count }
    /// The value that the next push replaces (the oldest one, once full).
    var oldest: Double? { isFull ? values[next] : nil }
    var isFull: Bool { count == values.count }

    @inline(__always)
    mutating func push(_ value: Double) {
        values.withUnsafeMutableBufferPointer { buffer in
            if count == buffer.count {
                let old = buffer[next]
                sum -= old
                if tracksSquares { sumOfSquares -= old * old }
            } else {
                count += 1
            }
            buffer[next] = value
            next = next + 1 == buffer.count ? 0 : next + 1
        }
        sum += value
        if tracksSquares { sumOfSquares += value * value }
    }
}
