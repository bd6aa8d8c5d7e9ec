import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The outcome of a finished child process.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var output: String { stdout + stderr }
}

/// A child process started with `posix_spawn` (Foundation's `Process` can miss the exit of a
/// child under the test runner, leaving a zombie it waits on forever).
public struct ChildProcess: Sendable {
    public let pid: pid_t

    /// Starts `executable`; stdout and stderr go to the given files (or /dev/null), stdin is
    /// /dev/null. `environment` nil inherits this process's environment.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        stdout: String = "/dev/null", stderr: String = "/dev/null"
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // Children start with default signal handling and nothing blocked, whatever the test
        // runner did to its own signals (an ignored SIGTERM would otherwise be inherited).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t()
        var none = sigset_t()
        sigfillset(&all)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EIO) }
        self.pid = pid
    }

    /// The exit status once the child has exited (reaping it), or nil while it runs.
    public func poll() -> Int32? {
        var status: Int32 = 0
        let rc = waitpid(pid, &status, WNOHANG)
        guard rc == pid else { return rc < 0 ? -1 : nil }
        if status & 0x7f == 0 { return (status >> 8) & 0xff }  // exited
        return 128 + (status & 0x7f)  // killed by a signal
    }

    /// Waits for the exit, killing the child after `timeout` seconds (status 124).
    public func wait(timeout: TimeInterval) async -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let status = poll() { return status }
            if Date() > deadline {
                kill(pid, SIGKILL)
                while poll() == nil { usleep(10_000) }
                return 124
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Sends SIGTERM and reaps the child.
    public func terminate() {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}

/// Runs programs the way an operator would, with output captured through files.
public enum ProcessRunner {
    /// Runs `executable` with `arguments` and `environment` to completion, or kills it after
    /// `timeout` seconds and reports status 124.
    public static func run(
        _ executable: String, _ arguments: [String] = [], environment: [String: String]? = nil,
        timeout: TimeInterval = 120
    ) async throws -> ProcessResult {
        let scratch = try TemporaryDirectory(prefix: "proc")
        defer { scratch.remove() }
        let child = try ChildProcess(
            executable, arguments, environment: environment, stdout: scratch.file("out"), stderr: scratch.file("err"))
        let status = await child.wait(timeout: timeout)
        return ProcessResult(
            status: status,
            stdout: (try? String(contentsOfFile: scratch.file("out"), encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: scratch.file("err"), encoding: .utf8)) ?? "")
    }
}
