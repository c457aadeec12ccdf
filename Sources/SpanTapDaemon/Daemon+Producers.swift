import CSpanTapRing
import Logging
import SpanTapControl
import SpanTapRing
import SpanTapSink

extension Daemon {
    /// Gives an external forwarder a ring of its own (memfd + eventfd travel with the reply), within
    /// the limits: one producer per connection, `--max-producers`, `--ring-slots` x
    /// `--ring-slot-size` per ring, `--max-ring-memory` over all rings.
    func attachProducer(_ request: AttachProducer, peer: ControlPeer) throws(ProducerRefusal) -> (ProducerGrant, HandoffRing) {
        guard request.abi == Int(SPANTAP_RING_VERSION) else {
            throw ProducerRefusal("this spantapd speaks ring ABI \(SPANTAP_RING_VERSION) and the request "
                + (request.abi.map { "asks for ABI \($0)" } ?? "has no \"abi\" field (an ABI 1 producer)")
                + ": in ABI 4 a rule may carry a filter program (the ring's program table, published under the "
                + "rule table's seqlock) that the producer must run before sampling, and the header grew to "
                + "\(SPANTAP_RING_HEADER_SIZE) bytes; rebuild against the current spantap_ring.h (spantap_session.h "
                + "does all of it) and send \"abi\":\(SPANTAP_RING_VERSION)")
        }
        guard (request.reattaches ?? 0) >= 0 else { throw ProducerRefusal("reattaches must be 0 or more") }
        guard !request.name.isEmpty, request.name.utf8.count <= 64 else {
            throw ProducerRefusal("producer name must be 1 to 64 bytes")
        }
        if let attached = producers[peer.connection] {
            throw ProducerRefusal("this connection already has producer '\(attached.name)' attached; one producer per connection (open another connection for another ring)")
        }
        guard !producers.values.contains(where: { $0.name == request.name }) else {
            throw ProducerRefusal("a producer named '\(request.name)' is already attached")
        }
        guard producers.count < options.maximumProducers else {
            throw ProducerRefusal("\(producers.count) producers are attached, the limit (spantapd --max-producers) is \(options.maximumProducers)")
        }
        let slotCount = request.slotCount ?? geometry.slotCount, slotSize = request.slotSize ?? geometry.slotSize
        guard slotCount <= options.ringSlots else {
            throw ProducerRefusal("slot_count \(slotCount) is above the limit (spantapd --ring-slots) of \(options.ringSlots)")
        }
        guard slotSize <= options.ringSlotSize else {
            throw ProducerRefusal("slot_size \(slotSize) is above the limit (spantapd --ring-slot-size) of \(options.ringSlotSize)")
        }
        let geometry: RingGeometry
        do { geometry = try RingGeometry(slotCount: slotCount, slotSize: slotSize) } catch { throw ProducerRefusal("\(error)") }
        let held = ringMemoryBytes
        guard held + geometry.mappingSize <= options.maximumRingMemory.bytes else {
            throw ProducerRefusal("a \(ByteCount(bytes: geometry.mappingSize)) ring would bring producer ring memory to "
                + "\(ByteCount(bytes: held + geometry.mappingSize)), above the limit (spantapd --max-ring-memory) of \(options.maximumRingMemory)")
        }
        let ring: HandoffRing
        do { ring = try HandoffRing.create(name: "spantap-\(request.name)", geometry: geometry) } catch { throw ProducerRefusal("\(error)") }
        ring.publishRules(ringRules, mirrorOnce: forwarderSnapshot == nil && config.mirrorOnce)
        let connection = peer.connection
        let consumed = sink.attach(ring, grant: recordGrant()) { [weak self] violation in
            guard let self else { return }
            self.queue.async { self.quarantineProducer(connection: connection, violation) }
        }
        producers[connection] = ExternalProducer(name: request.name, peer: peer, ring: ring, sink: consumed,
                                                 reattaches: request.reattaches ?? 0)
        logger.info("producer attached", metadata: ["producer": "\(request.name)", "pid": "\(peer.pid)", "ring": "\(geometry)",
                                                    "reattaches": "\(request.reattaches ?? 0)"])
        return (grant(for: request.name, ring: ring), ring)
    }

    /// The attach reply: the ring's geometry and, for convenience, the rules its table holds now
    /// (the table is the truth: it changes on reload and apply, this list does not).
    func grant(for name: String, ring: HandoffRing) -> ProducerGrant {
        ProducerGrant(name: name, geometry: ring.geometry, rules: mirrorRules().compactMap { rule in
            rule.ringRule.flatMap { ringRules.contains($0) ? ProducerGrant.Rule($0, ingress: rule.interface, output: rule.output) : nil }
        })
    }

    /// The routes the sink lets external producers' records take: exactly their rule table's.
    func recordGrant() -> RecordGrant {
        RecordGrant(routes: ringRules.map {
            RecordGrant.Route(outputID: $0.outputID, ifindex: $0.ifindex, direction: $0.direction, vlanID: $0.vlanID)
        })
    }

    /// Ring memory all attached producers hold now.
    var ringMemoryBytes: Int { producers.values.reduce(0) { $0 + $1.ring.geometry.mappingSize } }

    /// The producer's connection is gone (or it asked to detach, or spantapd stops): retire its
    /// ring, so a producer that is still alive stops staging into it and attaches again, drain it
    /// (at most one ring's worth), then free it.
    func detachProducer(connection: Int) {
        guard let producer = producers.removeValue(forKey: connection) else { return }
        producer.ring.retire()
        if let violation = sink.detach(producer.ring) {
            producersQuarantined += 1
            logger.error("producer quarantined: \(violation)", metadata: ["producer": "\(producer.name)", "pid": "\(producer.peer.pid)"])
        } else {
            logger.info("producer detached; ring drained and freed",
                        metadata: ["producer": "\(producer.name)", "mirrored_packets": "\(producer.ring.counters.mirroredPackets)"])
        }
        detachedProducerCounters += producer.counters.countsOnly
    }

    /// The sink caught the producer breaking the ring protocol and already dropped its ring: forget
    /// it, keep its counters, and close its connection.
    func quarantineProducer(connection: Int, _ violation: RingViolation) {
        guard let producer = producers.removeValue(forKey: connection) else { return }
        producer.ring.retire()
        producersQuarantined += 1
        detachedProducerCounters += producer.counters.countsOnly
        logger.error("producer quarantined: \(violation)", metadata: ["producer": "\(producer.name)", "pid": "\(producer.peer.pid)"])
        closeControlConnection(connection)
    }
}

/// Why an `attach-producer` was refused, as the operator reads it in the error reply.
struct ProducerRefusal: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
