import CLibXDP
import Glibc
import Logging
import Synchronization

/// libbpf and libxdp print to stderr on their own; spantapd logs one `key=value` line per event.
/// `route(to:)` sends both libraries' messages through swift-log instead: their warnings as
/// warnings, their chatter (e.g. "skipping unrecognized data section") at debug level.
public enum XDPLibraryLogging {
    private static let destination = Mutex<Logger?>(nil)

    public static func route(to logger: Logger) {
        destination.withLock { $0 = logger }
        _ = libbpf_set_print { level, format, arguments in
            XDPLibraryLogging.emit(warning: level == LIBBPF_WARN, library: "libbpf", format, arguments)
        }
        _ = libxdp_set_print { level, format, arguments in
            XDPLibraryLogging.emit(warning: level == LIBXDP_WARN, library: "libxdp", format, arguments)
        }
    }

    private static func emit(warning: Bool, library: String, _ format: UnsafePointer<CChar>?,
                             _ arguments: CVaListPointer?) -> Int32 {
        guard let format, let arguments, let logger = destination.withLock({ $0 }) else { return 0 }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let length = buffer.withUnsafeMutableBufferPointer {
            $0.withMemoryRebound(to: CChar.self) { vsnprintf($0.baseAddress, $0.count, format, arguments) }
        }
        var message = String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
        while message.last?.isNewline == true { message.removeLast() }
        logger.log(level: warning ? .warning : .debug, "\(message)", metadata: ["library": "\(library)"])
        return length
    }
}
