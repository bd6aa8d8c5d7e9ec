import Foundation

/// A value of the Redis serialization protocol (RESP2 and RESP3).
public indirect enum RESPValue: Sendable, Equatable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    /// `nil`: RESP2's null bulk string (`$-1`).
    case bulkString([UInt8]?)
    /// `nil`: RESP2's null array (`*-1`).
    case array([RESPValue]?)
    /// RESP3 `_`.
    case null
    case boolean(Bool)
    case double(Double)
    /// RESP3 `(`: kept as its digits.
    case bigNumber(String)
    case bulkError(String)
    case verbatim(format: String, text: String)
    /// RESP3 `%`: keys and values alternate.
    case map([RESPValue])
    case set([RESPValue])
    /// RESP3 `>`: out-of-band messages (pub/sub).
    case push([RESPValue])

    /// The text of a string-like value.
    public var text: String? {
        switch self {
        case .simpleString(let text), .bigNumber(let text), .error(let text), .bulkError(let text): text
        case .bulkString(let bytes?): String(decoding: bytes, as: UTF8.self)
        case .verbatim(_, let text): text
        default: nil
        }
    }
}

/// Why a byte stream is not RESP (or exceeds the limits): the connection must be closed.
public struct RESPProtocolError: Error, Equatable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// An incremental RESP parser: a pure state machine fed the bytes as they arrive, in pieces of
/// any size, that hands out each value once it is complete. Only the token being read is kept
/// back when a read ends inside it; nested aggregates are a stack of frames. Announced lengths
/// are checked against the limits before anything is reserved, so hostile input can neither
/// crash it nor make it allocate without bound. After an error it stays failed.
public struct RESPParser: Sendable {
    public struct Limits: Sendable {
        /// Longest bulk string (bytes).
        public var bulkBytes: Int = 16 << 20
        /// Most elements of one aggregate.
        public var elements: Int = 1 << 20
        /// Deepest nesting.
        public var depth: Int = 32
        /// Longest line (simple strings, errors, numbers, headers).
        public var lineBytes: Int = 64 << 10

        public init() {}
    }

    enum Kind {
        case array, map, set, push
    }

    struct Frame {
        var kind: Kind
        var remaining: Int
        var elements: [RESPValue]
    }

    let limits: Limits
    var buffer: [UInt8] = []
    var position = 0
    var stack: [Frame] = []
    var failure: RESPProtocolError?

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// Adds bytes read from the connection.
    public mutating func feed(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    /// The next complete value, or nil until more bytes arrive.
    public mutating func next() throws(RESPProtocolError) -> RESPValue? {
        if let failure { throw failure }
        do {
            while true {
                guard let token = try readToken() else {
                    compact()
                    return nil
                }
                if let value = try complete(token) { compact(); return value }
            }
        } catch {
            failure = error
            throw error
        }
    }

    /// What one token read gave: a whole value, or the header of an aggregate.
    enum Token {
        case value(RESPValue)
        case aggregate(Kind, count: Int)
    }

    /// Pushes a finished value into the open aggregates; returns it when it is a top-level value.
    mutating func complete(_ token: Token) throws(RESPProtocolError) -> RESPValue? {
        var value: RESPValue
        switch token {
        case .value(let finished):
            value = finished
        case .aggregate(let kind, let count):
            guard stack.count < limits.depth else { throw RESPProtocolError("aggregates nested deeper than \(limits.depth)") }
            if count > 0 {
                stack.append(Frame(kind: kind, remaining: count, elements: []))
                return nil
            }
            value = Self.aggregate(kind, [])
        }
        while var frame = stack.popLast() {
            frame.elements.append(value)
            frame.remaining -= 1
            if frame.remaining > 0 {
                stack.append(frame)
                return nil
            }
            value = Self.aggregate(frame.kind, frame.elements)
        }
        return value
    }

    static func aggregate(_ kind: Kind, _ elements: [RESPValue]) -> RESPValue {
        switch kind {
        case .array: .array(elements)
        case .map: .map(elements)
        case .set: .set(elements)
        case .push: .push(elements)
        }
    }

    /// Reads one token at `position`; nil (nothing consumed) when its bytes are not all here.
    mutating func readToken() throws(RESPProtocolError) -> Token? {
        guard position < buffer.count else { return nil }
        let start = position
        let marker = buffer[position]
        guard let line = try readLine(from: position + 1) else { return nil }
        let text = String(decoding: buffer[line.range], as: UTF8.self)
        func integer() throws(RESPProtocolError) -> Int64 {
            guard let value = Int64(text) else { throw RESPProtocolError("'\(Self.printable(text))' is not an integer") }
            return value
        }
        func length(_ limit: Int, _ what: String) throws(RESPProtocolError) -> Int? {
            let value = try integer()
            if value == -1 { return nil }
            guard value >= 0, value <= Int64(limit) else { throw RESPProtocolError("\(what) of \(value) is outside 0...\(limit)") }
            return Int(value)
        }
        func bulk(_ count: Int) -> [UInt8]? {
            // The payload and its CRLF must both be here; otherwise wait, consuming nothing.
            let end = line.next + count
            guard end + 2 <= buffer.count else { return nil }
            return Array(buffer[line.next..<end])
        }
        var token: Token
        switch marker {
        case UInt8(ascii: "+"): token = .value(.simpleString(text))
        case UInt8(ascii: "-"): token = .value(.error(text))
        case UInt8(ascii: ":"): token = .value(.integer(try integer()))
        case UInt8(ascii: "_"):
            guard text.isEmpty else { throw RESPProtocolError("a null carries no data") }
            token = .value(.null)
        case UInt8(ascii: "#"):
            guard text == "t" || text == "f" else { throw RESPProtocolError("a boolean is t or f, not '\(Self.printable(text))'") }
            token = .value(.boolean(text == "t"))
        case UInt8(ascii: ","):
            guard let value = Double(text) else { throw RESPProtocolError("'\(Self.printable(text))' is not a double") }
            token = .value(.double(value))
        case UInt8(ascii: "("):
            let digits = text.first == "-" || text.first == "+" ? text.dropFirst() : Substring(text)
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw RESPProtocolError("'\(Self.printable(text))' is not a big number")
            }
            token = .value(.bigNumber(text))
        case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
            guard let count = try length(limits.bulkBytes, "a bulk string length") else {
                guard marker == UInt8(ascii: "$") else { throw RESPProtocolError("only a bulk string may be null (-1)") }
                position = line.next
                return .value(.bulkString(nil))
            }
            guard let bytes = bulk(count) else {
                position = start
                return nil
            }
            guard buffer[line.next + count] == 13, buffer[line.next + count + 1] == 10 else {
                throw RESPProtocolError("a bulk string of \(count) bytes does not end with CRLF")
            }
            position = line.next + count + 2
            switch marker {
            case UInt8(ascii: "$"): return .value(.bulkString(bytes))
            case UInt8(ascii: "!"): return .value(.bulkError(String(decoding: bytes, as: UTF8.self)))
            default:
                guard bytes.count >= 4, bytes[3] == UInt8(ascii: ":") else { throw RESPProtocolError("a verbatim string starts with its format and ':'") }
                return .value(.verbatim(format: String(decoding: bytes[0..<3], as: UTF8.self), text: String(decoding: bytes[4...], as: UTF8.self)))
            }
        case UInt8(ascii: "*"), UInt8(ascii: "%"), UInt8(ascii: "~"), UInt8(ascii: ">"):
            let isMap = marker == UInt8(ascii: "%")
            guard let count = try length(isMap ? limits.elements / 2 : limits.elements, "an aggregate length") else {
                guard marker == UInt8(ascii: "*") else { throw RESPProtocolError("only an array may be null (-1)") }
                token = .value(.array(nil))
                break
            }
            let kind: Kind = switch marker {
            case UInt8(ascii: "*"): .array
            case UInt8(ascii: "%"): .map
            case UInt8(ascii: "~"): .set
            default: .push
            }
            token = .aggregate(kind, count: isMap ? count * 2 : count)
        default:
            throw RESPProtocolError("unknown type byte 0x\(String(marker, radix: 16)) at a value's start")
        }
        position = line.next
        return token
    }

    /// The line starting at `from` up to CRLF (excluded) and where the next byte is; nil when the
    /// CRLF has not arrived yet.
    func readLine(from: Int) throws(RESPProtocolError) -> (range: Range<Int>, next: Int)? {
        var index = from
        while index < buffer.count {
            if buffer[index] == 13 {
                guard index + 1 < buffer.count else { return nil }
                guard buffer[index + 1] == 10 else { throw RESPProtocolError("a CR not followed by LF") }
                return (from..<index, index + 2)
            }
            guard index - from < limits.lineBytes else { throw RESPProtocolError("a line longer than \(limits.lineBytes) bytes") }
            index += 1
        }
        guard buffer.count - from <= limits.lineBytes else { throw RESPProtocolError("a line longer than \(limits.lineBytes) bytes") }
        return nil
    }

    /// Drops consumed bytes once they are most of the buffer.
    mutating func compact() {
        if position > 0, position * 2 >= buffer.count {
            buffer.removeFirst(position)
            position = 0
        }
    }

    static func printable(_ text: String) -> String {
        String(text.prefix(40).map { $0.isASCII && !$0.isNewline && $0 != "\0" ? $0 : "?" })
    }
}

/// Encodes commands: an array of bulk strings, as Redis expects from clients.
public enum RESPEncoder {
    public static func command(_ parts: [String]) -> [UInt8] {
        command(parts.map { Array($0.utf8) })
    }

    public static func command(_ parts: [[UInt8]]) -> [UInt8] {
        var bytes = Array("*\(parts.count)\r\n".utf8)
        for part in parts {
            bytes += Array("$\(part.count)\r\n".utf8)
            bytes += part
            bytes += [13, 10]
        }
        return bytes
    }
}
