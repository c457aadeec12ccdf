extension ConfigInterpreter {
    ///     ... output erspan remote|local ADDRESS | session-id N | version 2|3 | index N | hardware-id N
    ///     ... output gre remote|local ADDRESS | key N | sequence
    /// Completeness and the fields that belong to one ERSPAN version only are the validator's
    /// job: the statements may come in any order. Returns the statement's field name, which the
    /// validator needs to say where a field that does not belong was set.
    static func applyGRE(_ cursor: inout PathCursor, to tunnel: inout GRETunnel) throws(ConfigError) -> String {
        switch tunnel.encapsulation {
        case .erspan(var erspan):
            let field = try cursor.keyword(["remote", "local", "session-id", "version", "index", "hardware-id"])
            switch field {
            case "remote": tunnel.remote = try address(cursor.value("remote address"), what: "remote")
            case "local": tunnel.local = try address(cursor.value("local address"), what: "local")
            case "session-id":
                erspan.sessionID = UInt16(try number(cursor.value("session id"), what: "session-id", in: GRETunnel.ERSPAN.sessionIDRange))
            case "version":
                erspan.version = UInt8(try number(cursor.value("ERSPAN version"), what: "version", in: GRETunnel.ERSPAN.versions))
            case "index":
                erspan.index = try number(cursor.value("index"), what: "index", in: GRETunnel.ERSPAN.indexRange)
            default:
                erspan.hardwareID = UInt8(try number(cursor.value("hardware id"), what: "hardware-id", in: GRETunnel.ERSPAN.hardwareIDRange))
            }
            tunnel.encapsulation = .erspan(erspan)
            return field
        case .gre(var key, var sequenceNumbers):
            let field = try cursor.keyword(["remote", "local", "key", "sequence"])
            switch field {
            case "remote": tunnel.remote = try address(cursor.value("remote address"), what: "remote")
            case "local": tunnel.local = try address(cursor.value("local address"), what: "local")
            case "key": key = try number(cursor.value("key"), what: "key", in: 0...UInt32.max)
            default: sequenceNumbers = true
            }
            tunnel.encapsulation = .gre(key: key, sequenceNumbers: sequenceNumbers)
            return field
        }
    }
}
