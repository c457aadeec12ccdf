import SpanTapControl
import SpanTapRing

extension Daemon {
    /// Gives an external forwarder a ring of its own (memfd + eventfd travel with the reply).
    func attachProducer(_ request: AttachProducer, peer: ControlPeer) throws -> (ProducerGrant, HandoffRing) {
        guard !request.name.isEmpty, request.name.utf8.count <= 64 else {
            throw RingError.invalidGeometry("producer name must be 1 to 64 bytes")
        }
        guard !producers.values.contains(where: { $0.name == request.name }) else {
            throw RingError.invalidGeometry("a producer named '\(request.name)' is already attached")
        }
        let geometry = try RingGeometry(slotCount: request.slotCount ?? self.geometry.slotCount,
                                        slotSize: request.slotSize ?? self.geometry.slotSize)
        let ring = try HandoffRing.create(name: "spantap-\(request.name)", geometry: geometry)
        producers[peer.connection] = ExternalProducer(name: request.name, peer: peer, ring: ring)
        sink.attach(ring)
        logger.info("producer attached", metadata: ["producer": "\(request.name)", "pid": "\(peer.pid)", "ring": "\(geometry)"])
        return (grant(for: request.name, ring: ring), ring)
    }

    func grant(for name: String, ring: HandoffRing) -> ProducerGrant {
        ProducerGrant(name: name, slotCount: ring.geometry.slotCount, slotSize: ring.geometry.slotSize,
                      snapLength: ring.geometry.snapLength, mappingSize: ring.geometry.mappingSize,
                      rules: mirrorRules().map {
                          ProducerGrant.Rule(ingress: $0.ingress, ingressIfindex: $0.ingressIfindex, rate: $0.rate,
                                             maximumPacketLength: $0.snapLength, output: $0.output, outputId: $0.outputID)
                      })
    }

    /// The producer's connection is gone (or it asked to detach): drain its ring, then free it.
    func detachProducer(connection: Int) {
        guard let producer = producers.removeValue(forKey: connection) else { return }
        sink.detach(producer.ring)
        logger.info("producer detached; ring drained and freed",
                    metadata: ["producer": "\(producer.name)", "mirrored_packets": "\(producer.ring.counters.mirroredPackets)"])
    }
}
