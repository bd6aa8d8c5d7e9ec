import Foundation

/// Plain HTTP GET through `curl` (which the scripts need anyway): status code and body.
public enum HTTP {
    public static func get(_ url: String) async throws -> (status: Int, body: String) {
        let result = try await ProcessRunner.run(
            "/usr/bin/curl", ["-s", "--max-time", "5", "-w", "\n%{http_code}", url], timeout: 10)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let status = Int(lines.last ?? "") ?? 0
        return (status, lines.dropLast().joined(separator: "\n"))
    }

    /// The JSON object in `body`, or an empty dictionary when it is not one.
    public static func json(_ body: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
    }
}
