/// The release of SignalCartel these binaries were built from.
public enum SignalCartelVersion {
    public static let current = "0.1.0"
}
