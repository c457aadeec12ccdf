import SpanTapControl
import SpanTapRing

/// A forwarder in another process feeding its own ring, attached over the control socket. Its
/// lifetime is its connection's: when the socket closes (detach, exit or crash), the ring is
/// drained into the outputs and freed.
final class ExternalProducer {
    let name: String
    let peer: ControlPeer
    let ring: HandoffRing

    init(name: String, peer: ControlPeer, ring: HandoffRing) {
        self.name = name
        self.peer = peer
        self.ring = ring
    }
}
