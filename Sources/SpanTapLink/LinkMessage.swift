import CLibMnl
import Glibc

/// Decodes RTM_NEWLINK / RTM_DELLINK messages into `LinkInfo`, with libmnl's attribute parser.
enum LinkMessage {
    /// Nil for messages that do not describe a network interface as such: per-family messages
    /// (a bridge sends AF_BRIDGE RTM_NEWLINK/RTM_DELLINK for a port joining or leaving, while
    /// the interface itself stays) and malformed ones.
    static func parse(_ header: UnsafePointer<nlmsghdr>) -> LinkInfo? {
        let headerLength = MemoryLayout<ifinfomsg>.size
        guard Int(header.pointee.nlmsg_len) >= MemoryLayout<nlmsghdr>.size + headerLength else { return nil }
        let ifi = mnl_nlmsg_get_payload(header).load(as: ifinfomsg.self)
        guard ifi.ifi_family == AF_UNSPEC else { return nil }

        var attributes = Attributes()
        let status = withUnsafeMutablePointer(to: &attributes) { pointer in
            mnl_attr_parse(header, UInt32(headerLength), { attribute, context in
                guard let attribute, let context else { return MNL_CB_ERROR }
                context.assumingMemoryBound(to: Attributes.self).pointee.take(attribute)
                return MNL_CB_OK
            }, pointer)
        }
        guard status >= 0, let name = attributes.name else { return nil }
        return LinkInfo(
            ifindex: ifi.ifi_index, name: name, flags: ifi.ifi_flags, mtu: attributes.mtu ?? 0,
            address: attributes.address, alias: attributes.alias,
            txQueueLength: attributes.txQueueLength ?? 0, kind: attributes.kind)
    }

    /// The attributes LinkInfo needs; everything else in the message is skipped.
    private struct Attributes {
        var name: String?
        var mtu: UInt32?
        var address: EthernetAddress?
        var alias: String?
        var txQueueLength: UInt32?
        var kind: String?

        mutating func take(_ attribute: UnsafePointer<nlattr>) {
            switch Int(mnl_attr_get_type(attribute)) {
            case IFLA_IFNAME: name = Self.string(attribute)
            case IFLA_IFALIAS: alias = Self.string(attribute)
            case IFLA_MTU: mtu = Self.u32(attribute)
            case IFLA_TXQLEN: txQueueLength = Self.u32(attribute)
            case IFLA_ADDRESS:
                address = EthernetAddress(
                    bytes: UnsafeRawBufferPointer(
                        start: mnl_attr_get_payload(attribute), count: Int(mnl_attr_get_payload_len(attribute))))
            case IFLA_LINKINFO:
                // Nested: IFLA_INFO_KIND is inside.
                withUnsafeMutablePointer(to: &kind) { pointer in
                    _ = mnl_attr_parse_nested(attribute, { nested, context in
                        guard let nested, let context else { return MNL_CB_ERROR }
                        if Int(mnl_attr_get_type(nested)) == IFLA_INFO_KIND {
                            context.assumingMemoryBound(to: String?.self).pointee = Attributes.string(nested)
                        }
                        return MNL_CB_OK
                    }, pointer)
                }
            default: break
            }
        }

        private static func string(_ attribute: UnsafePointer<nlattr>) -> String? {
            guard mnl_attr_validate(attribute, MNL_TYPE_NUL_STRING) >= 0 else { return nil }
            return String(cString: mnl_attr_get_str(attribute))
        }

        private static func u32(_ attribute: UnsafePointer<nlattr>) -> UInt32? {
            guard mnl_attr_validate(attribute, MNL_TYPE_U32) >= 0 else { return nil }
            return mnl_attr_get_u32(attribute)
        }
    }
}
