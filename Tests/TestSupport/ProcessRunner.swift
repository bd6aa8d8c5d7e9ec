import Foundation

/// The outcome of a finished child process.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var output: String { stdout + stderr }
}

/// Runs programs the way an operator would, with output captured through files (never pipes,
/// which a chatty child can fill and deadlock).
public enum ProcessRunner {
    /// Runs `executable` with `arguments` and `environment` to completion, or kills it after
    /// `timeout` seconds and reports status 124.
    public static func run(
        _ executable: String, _ arguments: [String] = [], environment: [String: String]? = nil,
        timeout: TimeInterval = 120
    ) async throws -> ProcessResult {
        let scratch = try TemporaryDirectory(prefix: "proc")
        defer { scratch.remove() }
        _ = FileManager.default.createFile(atPath: scratch.file("out"), contents: nil)
        _ = FileManager.default.createFile(atPath: scratch.file("err"), contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch.file("out")))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch.file("err")))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                process.waitUntilExit()
                try? out.close()
                try? err.close()
                return ProcessResult(
                    status: 124, stdout: try String(contentsOfFile: scratch.file("out"), encoding: .utf8),
                    stderr: "timed out after \(timeout)s")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        try out.close()
        try err.close()
        return ProcessResult(
            status: process.terminationStatus,
            stdout: try String(contentsOfFile: scratch.file("out"), encoding: .utf8),
            stderr: try String(contentsOfFile: scratch.file("err"), encoding: .utf8))
    }

    /// Starts a long-running helper (`sleep`, say) and returns it without waiting.
    public static func spawn(_ executable: String, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }
}
