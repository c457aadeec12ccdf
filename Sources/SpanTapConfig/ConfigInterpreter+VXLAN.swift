extension ConfigInterpreter {
    /// `... output vxlan remote ADDRESS | vni N | local ADDRESS | dstport P`. Completeness (a
    /// remote and a VNI) is the validator's job: the statements may come in any order.
    static func applyVXLAN(_ cursor: inout PathCursor, to tunnel: inout VXLANTunnel) throws(ConfigError) {
        switch try cursor.keyword(["remote", "vni", "local", "dstport"]) {
        case "remote":
            tunnel.remote = try address(cursor.value("remote address"), what: "remote")
        case "local":
            tunnel.local = try address(cursor.value("local address"), what: "local")
        case "vni":
            tunnel.vni = try number(cursor.value("VNI"), what: "vni", in: VXLANTunnel.vniRange)
        default:
            tunnel.dstport = UInt16(try number(cursor.value("port"), what: "dstport", in: 1...65535))
        }
    }

    static func address(_ word: LocatedWord, what: String) throws(ConfigError) -> String {
        guard let address = VXLANTunnel.canonicalUnicastAddress(word.text) else {
            throw ConfigError(word.location, "\(what) must be a unicast IPv4 or IPv6 address, not '\(word.text)'")
        }
        return address
    }
}
