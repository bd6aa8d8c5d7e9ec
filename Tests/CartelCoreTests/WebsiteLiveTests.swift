import CartelCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import TestSupport
import Testing
import Yams

/// The website as a real process: its event stream fed by another process's writes, and the
/// API checked against its OpenAPI document.
@Suite struct WebsiteLiveTests {
    let dir: TemporaryDirectory
    init() throws { dir = try TemporaryDirectory(prefix: "website-live") }

    func startWebsite(_ extra: [String: String] = [:]) async throws -> (ChildProcess, Int) {
        let port = try ListeningSocket.freePort()
        var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        env["DATABASE_URL"] = "sqlite:\(dir.file("db.sqlite"))"
        env["WEBSITE_PORT"] = "\(port)"
        env["HEARTBEAT_SECONDS"] = "1"
        env["SIGNALCARTEL_LOG_DIR"] = dir.file("logs")
        let child = try ChildProcess(
            BuildProducts.path("website"), [], environment: env.merging(extra) { $1 }, stdout: dir.file("website.out"), stderr: dir.file("website.err"))
        for _ in 0..<100 {
            if try await HTTP.get("http://127.0.0.1:\(port)/api/health").status == 200 { return (child, port) }
            try await Task.sleep(for: .milliseconds(100))
        }
        child.terminate()
        throw TestFailure("website did not answer on port \(port): \((try? String(contentsOfFile: dir.file("website.err"), encoding: .utf8)) ?? "")")
    }

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    @Test(.timeLimit(.minutes(2))) func eventsWrittenByAnotherProcessStreamAndResumeAfterLastEventID() async throws {
        defer { dir.remove() }
        _ = try SQLiteStorage(path: dir.file("db.sqlite"))
        let (website, port) = try await startWebsite()
        defer { website.terminate() }
        let url = "http://127.0.0.1:\(port)/api/events"
        // The writer starts once the stream is open (its first frame, the preamble, has come: a
        // new stream starts at the newest event when it connected): three candle batches from
        // another process.
        let (opened, open) = AsyncStream<Void>.makeStream()
        let writer = Task {
            for await _ in opened { break }
            return try await ProcessRunner.run(BuildProducts.path("cartel-storage-writer"), ["sqlite:" + dir.file("db.sqlite"), "7", "3"], timeout: 60)
        }
        let (status, frames): (Int, [SSEFrame])
        do {
            // 60 s: on a fresh build the writer is a cold debug binary started while the whole
            // suite loads its own.
            (status, frames) = try await EventStreamClient.collect(url: url, timeout: .seconds(60)) { frames in
                open.yield()
                return frames.filter { $0.event == "candle" && $0.data.contains("W7/USD") }.count == 3
            }
        } catch {
            // What the writer and the website said, to tell a slow writer from a stream that missed it.
            open.finish()  // a stream that never opened still lets the writer run and report
            let written = try? await writer.value
            let log = (try? String(contentsOfFile: dir.file("website.out"), encoding: .utf8)) ?? ""
            let errors = (try? String(contentsOfFile: dir.file("website.err"), encoding: .utf8)) ?? ""
            Issue.record("\(error); writer: \(written.map { "\($0.status) \($0.output)" } ?? "?"); website: \(log.suffix(3000)) \(errors.suffix(1000))")
            throw error
        }
        #expect(try await writer.value.status == 0)
        #expect(status == 200)
        let candles = frames.filter { $0.event == "candle" }
        #expect(candles.count == 3)
        #expect(candles.allSatisfy { HTTP.json($0.data)["pair"] as? String == "W7/USD" })
        let ids = candles.compactMap { $0.id.flatMap { Int64($0) } }
        #expect(ids == ids.sorted() && Set(ids).count == 3)
        #expect(frames.first?.comment == true)  // the preamble: retry and a comment

        // Without a password only loopback host names are answered (no DNS rebinding).
        let rebound = try await ProcessRunner.run(
            "/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: rebound.example:\(port)", "http://127.0.0.1:\(port)/api/status"],
            timeout: 10)
        #expect(rebound.stdout == "421")
        #expect(try await HTTP.get("http://localhost:\(port)/api/status").status == 200)

        // A client that saw only the first candle reconnects: the two it missed come first.
        let (_, resumed) = try await EventStreamClient.collect(url: url, lastEventID: String(ids[0])) { frames in
            frames.filter { $0.event == "candle" }.count >= 2
        }
        #expect(resumed.filter { $0.event == "candle" }.prefix(2).compactMap { $0.id.flatMap { Int64($0) } } == Array(ids[1...2]))
        #expect(resumed.compactMap { $0.id.flatMap { Int64($0) } }.allSatisfy { $0 > ids[0] })

        // A stored pause, from yet another writer (this test process), is streamed too: stored
        // once the new stream is open (before that, it would be history to this stream).
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        let (pauseOpened, pauseOpen) = AsyncStream<Void>.makeStream()
        let pauseTask = Task {
            for await _ in pauseOpened { break }
            try await storage.setPause(PauseState(paused: true, by: "cli", at: Date()))
        }
        let (_, paused) = try await EventStreamClient.collect(url: url) { frames in
            pauseOpen.yield()
            return frames.contains { $0.event == "pause" }
        }
        try await pauseTask.value
        #expect(HTTP.json(paused.first { $0.event == "pause" }?.data ?? "")["by"] as? String == "cli")
    }

    @Test(.timeLimit(.minutes(2))) func eventStreamsAreBoundedAndEndOnShutdown() async throws {
        defer { dir.remove() }
        _ = try SQLiteStorage(path: dir.file("db.sqlite"))
        let (website, port) = try await startWebsite(["WEBSITE_MAX_SSE_CLIENTS": "1"])
        let url = "http://127.0.0.1:\(port)/api/events"
        // The first stream holds the only slot once its preamble has come.
        let (opened, open) = AsyncStream<Void>.makeStream()
        let first = Task {
            defer { open.finish() }  // a stream that fails to open does not leave the test waiting
            return try await EventStreamClient.collect(url: url, timeout: .seconds(30)) { _ in
                open.yield()
                return false
            }
        }
        for await _ in opened { break }
        let (status, _) = try await EventStreamClient.collect(url: url, timeout: .seconds(5)) { _ in true }
        #expect(status == 429)
        // SIGTERM: the open stream ends and the website exits cleanly, recording `stopped`.
        let started = ContinuousClock.now
        kill(website.pid, SIGTERM)
        let exit = await website.wait(timeout: 15)
        #expect(exit == 0, "\((try? String(contentsOfFile: dir.file("website.out"), encoding: .utf8)) ?? "")")
        #expect(ContinuousClock.now - started < .seconds(10))
        _ = try? await first.value
        let beats = try await SQLiteStorage(path: dir.file("db.sqlite")).heartbeats()
        #expect(beats.first { $0.service == .website }?.state == .stopped)
    }

    // MARK: - The OpenAPI document is the contract

    @Test func everyRouteParameterAndResponseMatchesTheOpenAPIDocument() async throws {
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        _ = try await DashboardSeed.seed(storage, cycles: 2)
        let configuration = WebsiteConfiguration(
            service: ServiceConfiguration(service: .website, database: .sqlite(path: dir.file("db.sqlite"))),
            password: "correct horse battery", apiToken: String(repeating: "t", count: 32), logDirectory: dir.file("logs"))
        let app = WebsiteApp.buildApplication(
            configuration: configuration, storage: OpenStorage(storage), identity: .current(), logger: Logger(label: "test"))
        let bearer: HTTPFields = [.authorization: "Bearer " + String(repeating: "t", count: 32), .contentType: "application/json"]
        try await app.test(.router) { client in
            let text = try await client.execute(uri: "/api/openapi.yaml", method: .get, headers: bearer) { String(buffer: $0.body) }
            let document = try #require(try Yams.load(yaml: text) as? [String: Any])
            let contract = try OpenAPIContract(document)
            #expect(document["openapi"] as? String == "3.1.0")
            // The checker itself can fail: a body without the documented fields does.
            #expect(!contract.validate(["mode": "paper", "extra": 1], against: contract.responseSchema("GET /api/status", status: "200")).isEmpty)

            // The same operations, with the same query parameters, on both sides.
            #expect(Set(contract.operations.keys) == Set(WebsiteApp.apiRoutes.keys))
            for (route, parameters) in WebsiteApp.apiRoutes {
                #expect(contract.queryParameters(route) == parameters, "\(route)")
            }

            // Each operation called the way a client would: the status is documented for it and
            // the JSON body has the documented shape.
            let calls: [(String, String, String?)] = [
                ("GET /api/health", "/api/health", nil), ("GET /api/status", "/api/status", nil), ("GET /api/markets", "/api/markets", nil),
                ("GET /api/candles", "/api/candles?pair=BTC/USD&interval=60&limit=10&before=2100-01-01", nil),
                ("GET /api/candles", "/api/candles?pair=BTC/USD", nil),
                ("GET /api/strategies", "/api/strategies", nil), ("GET /api/strategies/{id}", "/api/strategies/1", nil),
                ("GET /api/strategies/{id}", "/api/strategies/77", nil),
                ("PATCH /api/strategies/{id}", "/api/strategies/1", #"{"enabled":true,"parameters":{"fast":3}}"#),
                ("PATCH /api/strategies/{id}", "/api/strategies/1", #"{"parameters":{"fast":99}}"#),
                ("PATCH /api/strategies/{id}", "/api/strategies/1", "[]"),
                ("GET /api/positions", "/api/positions", nil), ("GET /api/trades", "/api/trades?limit=1", nil),
                ("GET /api/trades", "/api/trades?strategy=1&pair=BTC/USD&from=2000-01-01&to=2100-01-01", nil),
                ("GET /api/trades.csv", "/api/trades.csv?pair=BTC/USD", nil), ("GET /api/performance", "/api/performance", nil),
                ("GET /api/equity", "/api/equity?from=0&step=3600", nil), ("GET /api/signals", "/api/signals?strategy=1&limit=2", nil),
                ("GET /api/orders", "/api/orders?limit=2", nil), ("GET /api/pause", "/api/pause", nil), ("POST /api/pause", "/api/pause", nil),
                ("POST /api/resume", "/api/resume", nil), ("GET /api/openapi.yaml", "/api/openapi.yaml", nil),
            ]
            var covered = Set<String>()
            for (route, uri, body) in calls {
                let method = HTTPRequest.Method(rawValue: String(route.split(separator: " ")[0]))!
                try await client.execute(uri: uri, method: method, headers: bearer, body: body.map { ByteBuffer(string: $0) }) { response in
                    let status = String(response.status.code)
                    #expect(contract.statuses(route).contains(status), "\(uri) answered \(status), not documented for \(route)")
                    if response.headers[.contentType]?.hasPrefix("application/json") == true {
                        let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body), options: [.fragmentsAllowed])
                        let problems = contract.validate(json, against: contract.responseSchema(route, status: status))
                        #expect(problems.isEmpty, "\(uri) \(status): \(problems)")
                    }
                }
                covered.insert(route)
            }
            // Every operation was called, and each refuses an unknown parameter and a missing login as documented.
            #expect(covered.union(["GET /api/events"]) == Set(contract.operations.keys))
            for route in contract.operations.keys.sorted() where route != "GET /api/health" {
                #expect(contract.statuses(route).contains("400") && contract.statuses(route).contains("401"), "\(route)")
            }
        }
    }
}

/// Enough of an OpenAPI 3.1 reader to hold a server to its document: operations, query
/// parameters, documented statuses and a JSON-schema check of bodies (type, required,
/// properties, additionalProperties, items, enum, oneOf, $ref).
struct OpenAPIContract {
    let document: [String: Any]
    let operations: [String: [String: Any]]

    init(_ document: [String: Any]) throws {
        self.document = document
        var operations: [String: [String: Any]] = [:]
        for (path, item) in document["paths"] as? [String: Any] ?? [:] {
            guard let item = item as? [String: Any] else { continue }
            let shared = item["parameters"] as? [Any] ?? []
            for (method, operation) in item where ["get", "post", "patch", "put", "delete"].contains(method) {
                guard var operation = operation as? [String: Any] else { continue }
                operation["parameters"] = shared + (operation["parameters"] as? [Any] ?? [])
                operations["\(method.uppercased()) \(path)"] = operation
            }
        }
        self.operations = operations
    }

    func resolve(_ value: Any?) -> [String: Any] {
        guard let object = value as? [String: Any] else { return [:] }
        guard let reference = object["$ref"] as? String else { return object }
        var node: Any = document
        for part in reference.dropFirst(2).split(separator: "/") { node = (node as? [String: Any])?[String(part)] ?? [:] }
        return resolve(node)
    }

    func queryParameters(_ route: String) -> Set<String> {
        Set((operations[route]?["parameters"] as? [Any] ?? []).map(resolve).filter { $0["in"] as? String == "query" }.compactMap { $0["name"] as? String })
    }

    func statuses(_ route: String) -> Set<String> {
        Set((operations[route]?["responses"] as? [String: Any] ?? [:]).keys)
    }

    func responseSchema(_ route: String, status: String) -> [String: Any] {
        let response = resolve((operations[route]?["responses"] as? [String: Any])?[status])
        let content = response["content"] as? [String: Any] ?? [:]
        return resolve((content["application/json"] as? [String: Any])?["schema"])
    }

    func validate(_ value: Any, against raw: [String: Any], at path: String = "$") -> [String] {
        let schema = resolve(raw)
        if let options = schema["oneOf"] as? [Any] {
            let matches = options.filter { validate(value, against: resolve($0), at: path).isEmpty }.count
            return matches == 1 ? [] : ["\(path): matches \(matches) of oneOf"]
        }
        var problems: [String] = []
        let types: [String] = (schema["type"] as? [String]) ?? (schema["type"] as? String).map { [$0] } ?? []
        if !types.isEmpty, !types.contains(where: { Self.isType(value, $0) }) {
            return ["\(path): \(type(of: value)) is not \(types)"]
        }
        if let allowed = schema["enum"] as? [Any], !allowed.contains(where: { "\($0)" == "\(value)" }) {
            problems.append("\(path): \(value) not in \(allowed)")
        }
        if let object = value as? [String: Any] {
            for name in schema["required"] as? [String] ?? [] where object[name] == nil { problems.append("\(path).\(name) is missing") }
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for (name, child) in object {
                if let property = properties[name] {
                    problems += validate(child, against: resolve(property), at: "\(path).\(name)")
                } else if let extra = schema["additionalProperties"] as? [String: Any] {
                    problems += validate(child, against: resolve(extra), at: "\(path).\(name)")
                } else if schema["additionalProperties"] as? Bool == false || !properties.isEmpty {
                    problems.append("\(path).\(name) is not documented")
                }
            }
        }
        if let array = value as? [Any], let items = schema["items"] {
            for (index, element) in array.enumerated() { problems += validate(element, against: resolve(items), at: "\(path)[\(index)]") }
        }
        return problems
    }

    static func isType(_ value: Any, _ type: String) -> Bool {
        switch type {
        case "null": return value is NSNull
        case "object": return value is [String: Any]
        case "array": return value is [Any]
        case "string": return value is String
        case "boolean": return (value as? NSNumber).map { ["c", "B"].contains(String(cString: $0.objCType)) } ?? false
        case "integer": return (value as? NSNumber).map { !isType(value, "boolean") && $0.doubleValue == $0.doubleValue.rounded() } ?? false
        case "number": return value is NSNumber && !isType(value, "boolean")
        default: return false
        }
    }
}
