import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One HTTP exchange with Kraken, as bytes. The seam between the client's logic and the network.
public protocol KrakenTransport: Sendable {
    /// Sends a request and returns status and body, or throws a `retryLater` ``KrakenError`` for
    /// network faults (connection refused, timeout, reset).
    func send(method: String, url: String, headers: [(String, String)], body: String?, timeout: Duration)
        async throws -> (status: Int, body: Data)
}

/// The one nonce counter of an API key, shared by every process that signs with it, so nonces
/// keep increasing across restarts and processes even if the wall clock steps back.
public protocol KrakenNonceStore: Sendable {
    /// Atomically hands out the next nonce: above every nonce handed out before, and at least `floor`.
    func reserveNonce(atLeast floor: UInt64) async throws -> UInt64
}

/// ``KrakenTransport`` over AsyncHTTPClient.
public struct AsyncHTTPKrakenTransport: KrakenTransport {
    let client: HTTPClient
    let maxBodyBytes: Int

    public init(client: HTTPClient = .shared, maxBodyBytes: Int = 8 << 20) {
        self.client = client
        self.maxBodyBytes = maxBodyBytes
    }

    public func send(method: String, url: String, headers: [(String, String)], body: String?, timeout: Duration)
        async throws -> (status: Int, body: Data)
    {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        request.headers.add(name: "User-Agent", value: "SignalCartel/\(SignalCartelVersion.current)")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        do {
            let response = try await client.execute(request, deadline: .now() + .nanoseconds(timeout.nanoseconds))
            let bytes = try await response.body.collect(upTo: maxBodyBytes)
            return (Int(response.status.code), Data(buffer: bytes))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout
            || error == .connectTimeout
        {
            throw KrakenError(.retryLater, "timed out after \(timeout)")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw KrakenError(.retryLater, "network error: \(error)")
        }
    }
}
