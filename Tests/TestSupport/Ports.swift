import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A TCP socket listening on 127.0.0.1, to find a free port or to occupy one.
public final class ListeningSocket: @unchecked Sendable {
    public let port: Int
    private var fd: Int32

    /// Binds `port` (0 = any free port) on 127.0.0.1 and listens.
    public init(port: Int = 0) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            Glibc.close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: actual.sin_port))
    }

    public func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    deinit { close() }

    /// Accepts one connection, reads what the client sends first, writes `reply`, and closes
    /// it: a misbehaving server.
    public func acceptAndReply(_ reply: [UInt8]) {
        let client = accept(fd, nil, nil)
        guard client >= 0 else { return }
        var scratch = [UInt8](repeating: 0, count: 4096)
        _ = read(client, &scratch, scratch.count)
        _ = reply.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
        usleep(100_000)
        Glibc.close(client)
    }

    /// A port that was free a moment ago.
    public static func freePort() throws -> Int {
        let socket = try ListeningSocket()
        defer { socket.close() }
        return socket.port
    }
}
