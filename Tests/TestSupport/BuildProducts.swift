import Foundation

/// Where the package's built executables are: `SIGNALCARTEL_BIN_DIR` when set, else the folder
/// holding this test binary (`.build/debug` after `swift build --build-tests`).
public enum BuildProducts {
    public static var directory: String {
        if let dir = ProcessInfo.processInfo.environment["SIGNALCARTEL_BIN_DIR"], !dir.isEmpty {
            return dir
        }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // On Linux the test binary is `<bin>/SignalCartelPackageTests.xctest`; on macOS it is
        // inside a bundle: walk up to the folder that holds the executables.
        while dir.path != "/", !FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("website").path) {
            dir.deleteLastPathComponent()
        }
        return dir.path
    }

    public static func path(_ name: String) -> String { "\(directory)/\(name)" }

    /// The repository root (two levels above this file's folder).
    public static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }
}
