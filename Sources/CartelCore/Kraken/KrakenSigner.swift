import Crypto
import Foundation

/// Kraken's `API-Sign` for private REST calls:
/// `base64(HMAC-SHA512(key: base64decode(secret), uriPath + SHA256(nonce + body)))`,
/// computed over the exact body bytes that are sent.
public struct KrakenSigner: Sendable {
    private let key: SymmetricKey

    /// Fails when the secret is not valid base64 (the error never contains the secret).
    public init(secretBase64: String) throws {
        guard let secret = Data(base64Encoded: secretBase64), !secret.isEmpty else {
            throw KrakenError(.fixConfiguration, "KRAKEN_API_SECRET is not valid base64")
        }
        key = SymmetricKey(data: secret)
    }

    /// The signature of one request. `body` must be the form-encoded bytes sent, including
    /// `nonce=<nonce>`.
    public func sign(uriPath: String, nonce: String, body: String) -> String {
        let digest = SHA256.hash(data: Data((nonce + body).utf8))
        var message = Data(uriPath.utf8)
        message.append(contentsOf: digest)
        let mac = HMAC<SHA512>.authenticationCode(for: message, using: key)
        return Data(mac).base64EncodedString()
    }
}
