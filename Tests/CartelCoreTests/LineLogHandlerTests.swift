import CartelCore
import Foundation
import Logging
import Testing

@Suite struct LineLogHandlerTests {
    @Test func aLineHasUTCTimeLevelServiceMessageAndSortedMetadata() {
        let line = LineLogHandler.format(
            date: Date(timeIntervalSince1970: 1_764_104_822.5), level: .warning, service: "market-data",
            message: "poll failed", metadata: ["pair": "BTC/USD", "error": "timed out after 10s"])
        #expect(line == "2025-11-25T21:07:02.500Z warning market-data: poll failed error=\"timed out after 10s\" pair=BTC/USD\n")
    }

    @Test func handlerWritesOneLinePerEventAtOrAboveItsLevel() {
        final class Lines: @unchecked Sendable {
            let lock = NSLock()
            var value: [String] = []
            func append(_ line: String) { lock.withLock { value.append(line) } }
        }
        let lines = Lines()
        var logger = Logger(label: "x") { _ in
            LineLogHandler(service: "website", level: .info, output: LineOutput { lines.append($0) })
        }
        logger[metadataKey: "request"] = "7"
        logger.debug("hidden")
        logger.info("shown", metadata: ["multi": "a\nb"])
        #expect(lines.value.count == 1)
        #expect(lines.value.first?.hasSuffix(" info website: shown multi=\"a\\nb\" request=7\n") == true)
    }
}
