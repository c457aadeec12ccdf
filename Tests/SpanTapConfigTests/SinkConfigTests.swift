import SpanTapConfig
import SpanTapTestSupport
import Testing

/// `sink { io-uring on|off; }` and `output { queues N|auto; }`, in both config forms.
@Suite struct SinkConfigTests {
    @Test func sinkStanzaAndOutputQueues() throws {
        let path = packageRoot.appendingPathComponent("Tests/SpanTapConfigTests/Corpus/valid/sink-and-queues.conf").path
        let config = try ConfigParser.parse(contentsOf: path)
        #expect(config.sink == SinkSettings(ioUring: false))
        #expect(config.instances.map(\.output) == [MirrorOutput(interface: "span0", queues: .auto),
                                                   MirrorOutput(interface: "span1", queues: .count(2))])
    }

    @Test func defaultsAreIoUringOnAndOneQueue() throws {
        let config = try ConfigParser.parse("set forwarding-options port-mirroring instance a input ingress interface eth1\nset forwarding-options port-mirroring instance a output interface span0\n", file: "flat.conf")
        #expect(config.sink.ioUring)
        #expect(config.instances.first?.output.queues == .count(1))
    }

    @Test func flatFormSetsTheSame() throws {
        let config = try ConfigParser.parse("""
            set sink io-uring off
            set forwarding-options port-mirroring instance a input ingress interface eth1
            set forwarding-options port-mirroring instance a output interface span0
            set forwarding-options port-mirroring instance a output queues 4
            """, file: "flat.conf")
        #expect(!config.sink.ioUring)
        #expect(config.instances.first?.output.queues == .count(4))
    }
}
