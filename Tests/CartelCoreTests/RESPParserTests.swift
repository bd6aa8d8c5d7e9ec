import CartelCore
import Foundation
import Testing

/// The RESP parser, byte by byte: every value is read the same however the bytes are split,
/// and malformed or hostile input is an error, never a crash or an unbounded allocation.
@Suite struct RESPParserTests {
    /// Encodings and what they mean, covering every type of RESP2 and RESP3.
    static let corpus: [(String, RESPValue)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("-ERR unknown command 'X'\r\n", .error("ERR unknown command 'X'")),
        (":-42\r\n", .integer(-42)),
        ("$5\r\nhe\r\no\r\n", .bulkString(Array("he\r\no".utf8))),
        ("$0\r\n\r\n", .bulkString([])),
        ("$-1\r\n", .bulkString(nil)),
        ("*-1\r\n", .array(nil)),
        ("*0\r\n", .array([])),
        ("*3\r\n$7\r\nmessage\r\n$19\r\nsignalcartel:ticker\r\n$2\r\n{}\r\n",
         .array([.bulkString(Array("message".utf8)), .bulkString(Array("signalcartel:ticker".utf8)), .bulkString(Array("{}".utf8))])),
        ("*2\r\n*1\r\n:1\r\n*0\r\n", .array([.array([.integer(1)]), .array([])])),
        ("_\r\n", .null),
        ("#t\r\n", .boolean(true)),
        (",3.25\r\n", .double(3.25)),
        ("(3492890328409238509324850943850943825024385\r\n", .bigNumber("3492890328409238509324850943850943825024385")),
        ("!21\r\nSYNTAX invalid syntax\r\n", .bulkError("SYNTAX invalid syntax")),
        ("=15\r\ntxt:Some string\r\n", .verbatim(format: "txt", text: "Some string")),
        ("%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", .map([.simpleString("first"), .integer(1), .simpleString("second"), .integer(2)])),
        ("~2\r\n+a\r\n+b\r\n", .set([.simpleString("a"), .simpleString("b")])),
        (">3\r\n+message\r\n+ch\r\n$3\r\nhi!\r\n", .push([.simpleString("message"), .simpleString("ch"), .bulkString(Array("hi!".utf8))])),
    ]

    static func parseAll(_ pieces: [[UInt8]], limits: RESPParser.Limits = .init()) throws -> [RESPValue] {
        var parser = RESPParser(limits: limits)
        var values: [RESPValue] = []
        for piece in pieces {
            parser.feed(piece)
            while let value = try parser.next() { values.append(value) }
        }
        return values
    }

    @Test func everyValueParsesWhereverTheReadsSplitIt() throws {
        let stream = Self.corpus.flatMap { Array($0.0.utf8) }
        let expected = Self.corpus.map(\.1)
        #expect(try Self.parseAll([stream]) == expected)
        #expect(try Self.parseAll(stream.map { [$0] }) == expected)  // one byte per read
        for offset in 0...stream.count {
            #expect(try Self.parseAll([Array(stream[..<offset]), Array(stream[offset...])]) == expected, "split at \(offset)")
        }
    }

    @Test func anIncompleteValueWaitsAndConsumesNothing() throws {
        var parser = RESPParser()
        parser.feed(Array("*2\r\n$5\r\nhel".utf8))
        #expect(try parser.next() == nil)
        parser.feed(Array("lo\r\n:7".utf8))
        #expect(try parser.next() == nil)
        parser.feed(Array("\r\n+next\r\n".utf8))
        #expect(try parser.next() == .array([.bulkString(Array("hello".utf8)), .integer(7)]))
        #expect(try parser.next() == .simpleString("next"))
        #expect(try parser.next() == nil)
    }

    @Test(arguments: [
        ("$999999999999\r\n", "bulk string length"), ("*99999999\r\n", "aggregate length"), ("%9999999\r\n", "aggregate length"),
        ("$-2\r\n", "bulk string length"), ("!-1\r\n", "only a bulk string may be null"), ("?\r\n", "unknown type byte"),
        (":12a\r\n", "not an integer"), ("#x\r\n", "t or f"), (",abc\r\n", "not a double"), ("(12x\r\n", "not a big number"),
        ("+ok\rX", "CR not followed by LF"), ("$3\r\nabcde", "does not end with CRLF"), ("=3\r\nabc\r\n", "verbatim"),
        ("_x\r\n", "no data"),
    ])
    func malformedInputIsAClearErrorAndTheParserStaysFailed(_ input: (String, String)) {
        var parser = RESPParser()
        parser.feed(Array(input.0.utf8))
        let error = #expect(throws: RESPProtocolError.self) { _ = try parser.next() }
        #expect(error?.description.contains(input.1) == true, "\(input.0): \(String(describing: error))")
        parser.feed(Array("+OK\r\n".utf8))
        #expect(throws: RESPProtocolError.self) { _ = try parser.next() }
    }

    @Test func limitsStopHostileInputBeforeItIsBuffered() throws {
        var limits = RESPParser.Limits()
        limits.depth = 4
        limits.lineBytes = 100
        let deep = String(repeating: "*1\r\n", count: 5) + ":1\r\n"
        #expect(throws: RESPProtocolError.self) { _ = try Self.parseAll([Array(deep.utf8)], limits: limits) }
        // A line that never ends is refused once it passes the limit, not buffered for ever.
        var parser = RESPParser(limits: limits)
        parser.feed(Array(("+" + String(repeating: "x", count: 200)).utf8))
        #expect(throws: RESPProtocolError.self) { _ = try parser.next() }
        limits.bulkBytes = 10
        #expect(throws: RESPProtocolError.self) { _ = try Self.parseAll([Array("$11\r\n".utf8)], limits: limits) }
        #expect(try Self.parseAll([Array("$10\r\n0123456789\r\n".utf8)], limits: limits) == [.bulkString(Array("0123456789".utf8))])
    }

    /// 20,000 mutated and random inputs (seeded): each ends in values, a wait for more bytes, or
    /// a protocol error, never a crash.
    @Test func fuzzedInputNeverCrashes() {
        var seed: UInt64 = 0x5EED
        func random(_ bound: Int) -> Int {
            seed &+= 0x9E37_79B9_7F4A_7C15
            var z = seed
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
        let stream = Self.corpus.flatMap { Array($0.0.utf8) }
        let alphabet = Array("+-:$*_#,(!=%~>\r\n0123456789-ab".utf8)
        var outcomes = (values: 0, errors: 0)
        for round in 0..<20_000 {
            var input: [UInt8]
            if round % 2 == 0 {
                input = stream
                for _ in 0..<(1 + random(4)) {
                    let at = random(input.count)
                    switch random(3) {
                    case 0: input[at] = alphabet[random(alphabet.count)]
                    case 1: input.remove(at: at)
                    default: input.insert(alphabet[random(alphabet.count)], at: at)
                    }
                }
            } else {
                input = (0..<random(64)).map { _ in random(4) == 0 ? UInt8(random(256)) : alphabet[random(alphabet.count)] }
            }
            var parser = RESPParser()
            var offset = 0
            while offset < input.count {
                let size = 1 + random(16)
                parser.feed(input[offset..<min(offset + size, input.count)])
                offset += size
                do {
                    while try parser.next() != nil { outcomes.values += 1 }
                } catch {
                    outcomes.errors += 1
                    break
                }
            }
        }
        #expect(outcomes.values > 0 && outcomes.errors > 0)
    }

    @Test func commandsAreArraysOfBulkStrings() throws {
        let bytes = RESPEncoder.command(["SET", "signalcartel:ticker:BTC/USD", "{\"last\":\"1.5\"}", "EX", "30"])
        #expect(String(decoding: bytes, as: UTF8.self)
            == "*5\r\n$3\r\nSET\r\n$27\r\nsignalcartel:ticker:BTC/USD\r\n$14\r\n{\"last\":\"1.5\"}\r\n$2\r\nEX\r\n$2\r\n30\r\n")
        #expect(try Self.parseAll([bytes]) == [.array(["SET", "signalcartel:ticker:BTC/USD", "{\"last\":\"1.5\"}", "EX", "30"].map {
            .bulkString(Array($0.utf8))
        })])
    }
}
