/// The release both executables report (`--version`, `spantap_build_info`, man pages).
/// Bumped by hand with each release tag.
public enum SpanTapVersion {
    public static let current = "0.5.0"
}
