import CartelCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A private `redis-server` (Debian's) on a free loopback port, for tests that stop, restart or
/// configure it; the shared one `scripts/test.sh` starts is `sharedURL`.
public final class RedisServer: @unchecked Sendable {
    public let port: Int
    public let password: String?
    public let directory: TemporaryDirectory
    private var child: ChildProcess?

    /// The server `scripts/test.sh` started for the whole run (`SIGNALCARTEL_TEST_REDIS_URL`).
    /// Without it the test fails: Redis tests are never skipped.
    public static func sharedURL() throws -> RedisURL {
        guard let text = ProcessInfo.processInfo.environment["SIGNALCARTEL_TEST_REDIS_URL"] else {
            throw RedisError(.unreachable, "SIGNALCARTEL_TEST_REDIS_URL is not set: run the tests with scripts/test.sh, which starts a throwaway redis-server")
        }
        return try RedisURL.parse(text)
    }

    public init(password: String? = nil) async throws {
        self.password = password
        directory = try TemporaryDirectory(prefix: "redis")
        port = try ListeningSocket.freePort()
        try await start()
    }

    public var url: RedisURL { RedisURL(endpoint: .tcp(host: "127.0.0.1", port: port), password: password) }
    public var socketPath: String { directory.file("redis.sock") }

    public func urlText(password override: String? = nil) -> String {
        let secret = override ?? password
        return "redis://\(secret.map { ":\($0)@" } ?? "")127.0.0.1:\(port)/0"
    }

    /// Starts the server (again, on the same port) and waits until it answers.
    public func start() async throws {
        var arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory.path,
            "--unixsocket", socketPath, "--unixsocketperm", "700", "--daemonize", "no", "--loglevel", "warning",
        ]
        if let password { arguments += ["--requirepass", password] }
        child = try ChildProcess("/usr/bin/redis-server", arguments, stdout: directory.file("server.log"), stderr: directory.file("server.log"))
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let connection = try? await RedisConnection.connect(to: url, timeout: .seconds(1)) {
                await connection.close()
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw RedisError(.unreachable, "redis-server did not start on port \(port): see \(directory.file("server.log"))")
    }

    /// Kills the server (SIGKILL: no goodbye to its clients) and reaps it.
    public func kill() {
        guard let child else { return }
        Glibc.kill(child.pid, SIGKILL)
        var status: Int32 = 0
        waitpid(child.pid, &status, 0)
        self.child = nil
    }

    public func stop() {
        kill()
        directory.remove()
    }
}
