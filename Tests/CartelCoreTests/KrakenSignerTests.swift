import CartelCore
import TestSupport
import Testing

@Suite struct KrakenSignerTests {
    @Test func matchesKrakensOfficialWorkedExample() throws {
        let vector = try Fixtures.json("kraken/kraken_auth_signature_vector.official.json")
        let signer = try KrakenSigner(secretBase64: try #require(vector["private_key_base64"] as? String))
        let signature = signer.sign(
            uriPath: try #require(vector["uri_path"] as? String), nonce: try #require(vector["nonce"] as? String),
            body: try #require(vector["encoded_payload"] as? String))
        #expect(signature == vector["expected_api_sign"] as? String)
    }

    @Test func matchesTheDerivedRegressionVectors() throws {
        let file = try Fixtures.json("kraken/kraken_auth_signature_vectors.derived-not-official.json")
        let signer = try KrakenSigner(secretBase64: try #require(file["private_key_base64"] as? String))
        let vectors = try #require(file["vectors"] as? [[String: String]])
        #expect(vectors.count >= 4)
        for vector in vectors {
            let signature = signer.sign(
                uriPath: vector["uri_path"]!, nonce: vector["nonce"]!, body: vector["encoded_payload"]!)
            #expect(signature == vector["api_sign"], "\(vector["uri_path"]!)")
        }
    }

    @Test func theSignatureCoversTheExactBodyBytes() throws {
        let signer = try KrakenSigner(secretBase64: "c2VjcmV0")
        let a = signer.sign(uriPath: "/0/private/AddOrder", nonce: "1", body: "nonce=1&pair=XBTUSD&type=buy")
        let b = signer.sign(uriPath: "/0/private/AddOrder", nonce: "1", body: "nonce=1&type=buy&pair=XBTUSD")
        #expect(a != b)
    }

    @Test(arguments: ["", "not base64!", "abc"])
    func aSecretThatIsNotBase64IsAConfigurationErrorThatDoesNotEchoIt(_ secret: String) {
        let error = #expect(throws: KrakenError.self) { try KrakenSigner(secretBase64: secret) }
        #expect(error?.kind == .fixConfiguration)
        #expect(secret.isEmpty || error?.message.contains(secret) == false)
    }
}
