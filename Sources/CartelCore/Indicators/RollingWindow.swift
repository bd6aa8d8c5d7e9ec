/// A fixed-capacity ring of the last `capacity` values with their running sum (and sum of
/// squares); storage is allocated once, so updates never allocate.
struct RollingWindow: Sendable {
    private var values: [Double]
    private var next = 0
    private(set) var count = 0
    private(set) var sum = 0.0
    private(set) var sumOfSquares = 0.0

    init(capacity: Int) {
        precondition(capacity >= 1, "a window needs at least one value")
        values = Array(repeating: 0, count: capacity)
    }

    var capacity: Int { values.count }
    /// The value that the next push replaces (the oldest one, once full).
    var oldest: Double? { isFull ? values[next] : nil }
    var isFull: Bool { count == values.count }

    mutating func push(_ value: Double) {
        if isFull {
            let old = values[next]
            sum -= old
            sumOfSquares -= old * old
        } else {
            count += 1
        }
        values[next] = value
        sum += value
        sumOfSquares += value * value
        next = next + 1 == values.count ? 0 : next + 1
    }
}
