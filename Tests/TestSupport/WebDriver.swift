import AsyncHTTPClient
import Foundation
import NIOCore

/// A W3C WebDriver session on a real headless Chromium, through `chromedriver` (Debian
/// `chromium-driver`), spoken as plain HTTP+JSON: enough to load pages, read them, click, take
/// screenshots and collect the browser console.
public final class WebDriver: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    let driver: ChildProcess
    let base: String
    let session: String

    /// Starts chromedriver on a free port and opens a headless Chromium session.
    public static func start(width: Int = 1366, height: Int = 900, logFile: String) async throws -> WebDriver {
        let port = try ListeningSocket.freePort()
        guard let chromedriver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].first(where: FileManager.default.isExecutableFile)
        else { throw Failure(description: "chromedriver is not installed (Debian package chromium-driver; scripts/test.sh installs it)") }
        let driver = try ChildProcess(chromedriver, ["--port=\(port)"], stdout: logFile, stderr: logFile)
        let base = "http://127.0.0.1:\(port)"
        for _ in 0..<100 {
            if (try? await request("GET", base + "/status", nil))?["ready"] as? Bool == true { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let capabilities: [String: Any] = [
            "capabilities": [
                "alwaysMatch": [
                    "browserName": "chrome",
                    "goog:loggingPrefs": ["browser": "ALL"],
                    "goog:chromeOptions": [
                        "binary": "/usr/bin/chromium",
                        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=\(width),\(height)", "--hide-scrollbars"],
                    ],
                ]
            ]
        ]
        do {
            let answer = try await request("POST", base + "/session", capabilities)
            guard let value = answer["value"] as? [String: Any], let session = value["sessionId"] as? String else {
                throw Failure(description: "no WebDriver session: \(answer)")
            }
            return WebDriver(driver: driver, base: base, session: session)
        } catch {
            driver.terminate()
            throw error
        }
    }

    init(driver: ChildProcess, base: String, session: String) {
        self.driver = driver
        self.base = base
        self.session = session
    }

    public func quit() async {
        _ = try? await Self.request("DELETE", "\(base)/session/\(session)", nil)
        driver.terminate()
    }

    @discardableResult
    func command(_ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> Any? {
        let answer = try await Self.request(method, "\(base)/session/\(session)\(path)", body ?? (method == "POST" ? [:] : nil))
        if let value = answer["value"] as? [String: Any], let error = value["error"] as? String {
            throw Failure(description: "\(method) \(path): \(error): \(value["message"] ?? "")")
        }
        return answer["value"]
    }

    public func open(_ url: String) async throws { try await command("POST", "/url", ["url": url]) }

    public func resize(width: Int, height: Int) async throws {
        try await command("POST", "/window/rect", ["width": width, "height": height])
    }

    /// Runs `script` in the page and returns what it returns.
    public func run(_ script: String, _ arguments: [Any] = []) async throws -> Any? {
        try await command("POST", "/execute/sync", ["script": script, "args": arguments])
    }

    public func text(_ selector: String) async throws -> String? {
        try await run("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", [selector]) as? String
    }

    public func click(_ selector: String) async throws {
        guard let element = try await command("POST", "/element", ["using": "css selector", "value": selector]) as? [String: Any],
            let id = element.values.first as? String
        else { throw Failure(description: "no element \(selector)") }
        try await command("POST", "/element/\(id)/click")
    }

    public func type(_ selector: String, _ text: String) async throws {
        guard let element = try await command("POST", "/element", ["using": "css selector", "value": selector]) as? [String: Any],
            let id = element.values.first as? String
        else { throw Failure(description: "no element \(selector)") }
        try await command("POST", "/element/\(id)/value", ["text": text])
    }

    /// Saves a PNG of the viewport (full page height: the window is grown to the page first).
    public func screenshot(to path: String) async throws {
        guard let base64 = try await command("GET", "/screenshot") as? String, let data = Data(base64Encoded: base64) else {
            throw Failure(description: "no screenshot")
        }
        try data.write(to: URL(fileURLWithPath: path))
    }

    /// Emulates the light or dark colour scheme through the DevTools protocol.
    public func colorScheme(_ scheme: String) async throws {
        try await command("POST", "/goog/cdp/execute", [
            "cmd": "Emulation.setEmulatedMedia", "params": ["features": [["name": "prefers-color-scheme", "value": scheme]]],
        ])
    }

    /// Browser console entries since the last call (`level`, `message`).
    public func consoleEntries() async throws -> [(level: String, message: String)] {
        let entries = try await command("POST", "/se/log", ["type": "browser"]) as? [[String: Any]] ?? []
        return entries.map { ($0["level"] as? String ?? "", $0["message"] as? String ?? "") }
    }

    static func request(_ method: String, _ url: String, _ body: [String: Any]?) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let data = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return (try? JSONSerialization.jsonObject(with: Data(buffer: data))) as? [String: Any] ?? [:]
    }
}
