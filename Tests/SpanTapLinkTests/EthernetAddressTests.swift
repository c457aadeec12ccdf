import SpanTapLink
import Testing

@Suite("EthernetAddress")
struct EthernetAddressTests {
    @Test func parsesAndPrintsTheColonForm() throws {
        let address = try #require(EthernetAddress("02:0A:ff:00:10:9b"))
        #expect(address.bytes == [0x02, 0x0a, 0xff, 0x00, 0x10, 0x9b])
        #expect(address.description == "02:0a:ff:00:10:9b")
        #expect(EthernetAddress("02:0a:ff:00:10") == nil)
        #expect(EthernetAddress("02:0a:ff:00:10:9g") == nil)
        #expect(EthernetAddress("2:0a:ff:00:10:9b") == nil)
        #expect(EthernetAddress(bytes: [1, 2, 3]) == nil)
    }

    @Test func randomAddressesAreLocallyAdministeredUnicast() {
        let addresses = (0..<64).map { _ in EthernetAddress.randomLocallyAdministered() }
        for address in addresses {
            #expect(address.isLocallyAdministered)
            #expect(!address.isMulticast)
        }
        #expect(Set(addresses).count > 60)
    }
}
