import CLibNLRoute
import Glibc

/// One connected libnl NETLINK_ROUTE socket and the few request shapes LinkControl needs.
///
/// Noncopyable so exactly one owner frees it; LinkControl keeps it inside a Mutex because libnl
/// sockets must not be used from two threads at once.
struct RouteSocket: ~Copyable {
    private let socket: OpaquePointer

    init() throws {
        guard let socket = nl_socket_alloc() else {
            throw LinkError(operation: "open rtnetlink socket", device: "", errno: .noMemory)
        }
        let status = nl_connect(socket, NETLINK_ROUTE)
        guard status == 0 else {
            nl_socket_free(socket)
            throw LinkError(operation: "open rtnetlink socket", device: "", netlinkCode: status)
        }
        self.socket = socket
    }

    deinit {
        nl_socket_free(socket)  // also closes the fd
    }

    /// RTM_GETLINK for one link. Returns a libnl link object the caller must rtnl_link_put, or
    /// nil if the kernel has no such link.
    func fetch(index: Int32, name: String?, operation: String, device: String) throws -> OpaquePointer? {
        var link: OpaquePointer?
        let status = rtnl_link_get_kernel(socket, index, name, &link)
        switch status {
        case 0:
            return link
        case -NLE_NODEV, -NLE_OBJ_NOTFOUND:
            return nil
        default:
            throw LinkError(operation: operation, device: device, netlinkCode: status)
        }
    }

    /// Sends one change request for `original` and waits for the kernel's ack. `apply` fills in
    /// a fresh, otherwise empty libnl link: only what it sets is sent.
    func change(
        _ original: OpaquePointer, operation: String, device: String,
        _ apply: (OpaquePointer) throws -> Void
    ) throws {
        guard let changes = rtnl_link_alloc() else {
            throw LinkError(operation: operation, device: device, errno: .noMemory)
        }
        defer { rtnl_link_put(changes) }
        try apply(changes)
        let status = rtnl_link_change(socket, original, changes, 0)
        if status < 0 {
            throw LinkError(operation: operation, device: device, netlinkCode: status)
        }
    }

    /// RTM_NEWLINK creating `link` (NLM_F_CREATE | NLM_F_EXCL: an existing name is an error,
    /// never silently reused).
    func add(_ link: OpaquePointer, operation: String, device: String) throws {
        let status = rtnl_link_add(socket, link, NLM_F_CREATE | NLM_F_EXCL)
        if status < 0 {
            throw LinkError(operation: operation, device: device, netlinkCode: status)
        }
    }

    /// RTM_DELLINK for the link that `identify` names (by ifindex or by name).
    func delete(operation: String, device: String, _ identify: (OpaquePointer) -> Void) throws {
        guard let link = rtnl_link_alloc() else {
            throw LinkError(operation: operation, device: device, errno: .noMemory)
        }
        defer { rtnl_link_put(link) }
        identify(link)
        let status = rtnl_link_delete(socket, link)
        if status < 0 {
            throw LinkError(operation: operation, device: device, netlinkCode: status)
        }
    }
}
