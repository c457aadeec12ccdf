import SpanTapControl
import Testing

/// The request lines external producers write by hand (C, Rust): the attach request's fields
/// sit beside `command` in one object, in snake_case.
@Suite struct ControlRequestCodingTests {
    @Test func attachRequestReadsTheDocumentedLine() throws {
        let line = #"{"command":"attach-producer","name":"xpf-0","abi":4,"reattaches":1,"slot_count":4096,"slot_size":2048}"#
        let request = try ControlCodec.decode(ControlRequest.self, from: Array(line.utf8))
        #expect(request == .attachProducer(AttachProducer(name: "xpf-0", abi: 4, slotCount: 4096, slotSize: 2048, reattaches: 1)))
    }

    @Test func attachRequestWritesOnlyWhatIsSet() throws {
        let line = try ControlCodec.encodeLine(ControlRequest.attachProducer(AttachProducer(name: "fw", slotCount: 64)))
        #expect(String(decoding: line, as: UTF8.self) == #"{"abi":\#(AttachProducer.currentABI),"command":"attach-producer","name":"fw","slot_count":64}"# + "\n")
    }

    @Test func attachRequestWithoutOptionalFieldsLeavesThemToTheDaemon() throws {
        let request = try ControlCodec.decode(ControlRequest.self, from: Array(#"{"command":"attach-producer","name":"c"}"#.utf8))
        #expect(request == .attachProducer(AttachProducer(name: "c", abi: nil)))
    }

    @Test func attachRequestWithoutANameIsRefusedNamingTheField() {
        #expect {
            try ControlCodec.decode(ControlRequest.self, from: Array(#"{"command":"attach-producer","abi":4}"#.utf8))
        } throws: { ControlCodec.describe($0) == "missing field 'name'" }
    }
}
