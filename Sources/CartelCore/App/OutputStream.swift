#if canImport(Glibc)
import Glibc
#endif

/// Buffered bytes to a file descriptor (standard output by default), written in pieces of
/// 64 KiB: a command that prints a million lines builds neither a `String` per line nor the
/// whole output in memory. Call ``flush()`` at the end.
public struct ByteOutput {
    public struct WriteError: Error, CustomStringConvertible {
        public var errno: Int32
        public var description: String { "cannot write the output (errno \(errno))" }
    }

    let descriptor: Int32
    var buffer: [UInt8] = []
    static let flushSize = 1 << 16

    public init(descriptor: Int32 = 1) {
        self.descriptor = descriptor
        buffer.reserveCapacity(Self.flushSize + 4096)
    }

    @inline(__always)
    public mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.flushSize { try flush() }
    }

    @inline(__always)
    public mutating func append(_ text: String) throws {
        var text = text
        try text.withUTF8 { try append($0) }
    }

    @inline(__always)
    public mutating func append(byte: UInt8) {
        buffer.append(byte)
    }

    /// Shortest text that reads back as the same double (Swift's `description`).
    @inline(__always)
    public mutating func append(_ value: Double) throws {
        try append(value.description)
    }

    public mutating func flush() throws {
        try buffer.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw WriteError(errno: errno)
                }
                offset += written
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
