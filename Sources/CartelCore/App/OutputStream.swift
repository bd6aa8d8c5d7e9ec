#if canImport(Glibc)
import Glibc
#endif

/// Buffered bytes to a file descriptor (standard output by default), written in pieces of
/// 64 KiB: a command that prints a million lines builds neither a `String` per line nor the
/// whole output in memory. Call ``flush()`` at the end. (With descriptor -1 it only collects.)
public struct ByteOutput: TextOutputStream {
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

    /// Buffers without flushing (for text made in memory, then written in order).
    @inline(__always)
    mutating func collect(_ bytes: UnsafeBufferPointer<UInt8>) {
        buffer.append(contentsOf: bytes)
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

    /// Shortest text that reads back as the same double (what `description` gives), written
    /// straight into the buffer: `Double.write(to:)` hands its digits to ``_writeASCII(_:)``.
    @inline(__always)
    public mutating func append(_ value: Double) throws {
        value.write(to: &self)
        if buffer.count >= Self.flushSize { try flush() }
    }

    /// `TextOutputStream`: buffers the text (flushed by the next `append` or ``flush()``).
    public mutating func write(_ string: String) {
        var string = string
        string.withUTF8 { buffer.append(contentsOf: $0) }
    }

    public mutating func _writeASCII(_ bytes: UnsafeBufferPointer<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    public mutating func flush() throws {
        try buffer.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
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
