import Testing
import SpanTapRing

@Suite struct SamplerTests {
    @Test(arguments: [0, 1, 2, 3, 7, 64, 1000] as [UInt32])
    func mirrorsPacketsZeroNTwoN(rate: UInt32) {
        let packets = 10_007
        var sampler = Sampler()
        let sampleRate = SampleRate(rate)
        let mirrored = (0..<packets).filter { _ in sampler.shouldMirror(sampleRate) }
        let n = Int(max(rate, 1))
        #expect(mirrored == Array(stride(from: 0, to: packets, by: n)))
        #expect(mirrored.count == (packets + n - 1) / n)
    }

    @Test func samplersAreIndependentPerBinding() {
        var a = Sampler(), b = Sampler()
        let rate = SampleRate(4)
        let fromA = (0..<8).map { _ in a.shouldMirror(rate) }
        let fromB = (0..<3).map { _ in b.shouldMirror(rate) }
        #expect(fromA == [true, false, false, false, true, false, false, false])
        #expect(fromB == [true, false, false])
    }
}
