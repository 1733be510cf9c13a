import Vocabulary

/// The project's built-in test guest: a flat image of Guest/ built by the TestGuestBuilder
/// plugin, and the layout the VMM and the guest share (Guest/layout.h).
///
/// Why a plugin and a hex string: `swift build` alone must produce the image (no manual
/// step before tests), the guest's C sources stay the only source of truth, and a string
/// literal costs the Swift compiler nothing to type-check, unlike a large array literal.
/// The image is a few KiB; decoding it at start-up takes microseconds.
public enum TestGuest {
    /// The image bytes, loaded at `Layout.imageAddress`; the entry point is its first byte.
    public static var image: [UInt8] {
        testGuestImageHex.withUTF8Buffer { hex in
            var bytes = [UInt8]()
            bytes.reserveCapacity(hex.count / 2)
            var i = 0
            while i + 1 < hex.count {
                bytes.append(nibble(hex[i]) << 4 | nibble(hex[i + 1]))
                i += 2
            }
            return bytes
        }
    }

    private static func nibble(_ c: UInt8) -> UInt8 {
        c >= 0x61 ? c - 0x61 + 10 : c - 0x30  // the generator writes lowercase hex only
    }

    /// Guest/layout.h: where the VMM puts what the guest reads, and the guest's ports.
    public enum Layout {
        public static let bootInfoAddress: UInt64 = 0x5000
        public static let bootInfoMagic: UInt32 = 0x4754_4842  // "BHTG"
        /// boot_info.stop_request: the VMM stores 1 to ask the guest to power off (ctl stop).
        public static let stopRequestAddress: UInt64 = bootInfoAddress + 32
        public static let cmdlineAddress: UInt64 = 0x5100
        public static let cmdlineMax = VMLimits.testGuestCommandLineMax
        public static let imageAddress: UInt64 = 0x10_0000
        public static let maxCPUs = VMLimits.cpus.upperBound
        /// The image's .bss (vCPU stacks) ends below this; guest memory must reach it.
        public static let minimumMemory = VMLimits.memoryMiB.lowerBound << 20
    }

    public enum Port {
        public static let uart: UInt16 = 0x3F8
        public static let poweroff: UInt16 = 0x501
        public static let park: UInt16 = 0x502
        public static let null: UInt16 = 0x503
        public static let escape: UInt16 = 0x510
        public static let escapeOnIO: UInt16 = 0x511
    }
    // struct escape_request (ports 0x510/0x511) is read by the device: Sources/Devices/EscapeRequest.swift.
}
