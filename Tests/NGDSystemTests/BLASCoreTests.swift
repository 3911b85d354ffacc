import NGDSystem
import Testing

@Suite struct BLASCoreTests {
    @Test func onlyGenericFallbacksAreOverriddenAndTheCoreFollowsTheFlags() {
        let avx512: Set = ["sse3", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512cd"]
        #expect(BLASCore.override(detected: "Prescott", cpuFlags: avx512) == "SkylakeX")
        #expect(BLASCore.override(detected: "Prescott", cpuFlags: ["avx", "avx2", "fma"]) == "Haswell")
        #expect(BLASCore.override(detected: "Core2", cpuFlags: ["avx"]) == "Sandybridge")
        #expect(BLASCore.override(detected: "Prescott", cpuFlags: ["sse3"]) == nil)
        #expect(BLASCore.override(detected: "Haswell", cpuFlags: avx512) == nil)  // a real detection is kept
        #expect(BLASCore.override(detected: "SkylakeX", cpuFlags: avx512) == nil)
    }

    @Test func theRunningCoreAndCPUFlagsAreReadable() {
        #expect(!BLASCore.name.isEmpty)
        #expect(BLASCore.cpuFlags().contains("sse2"))  // every x86-64 CPU
    }
}
