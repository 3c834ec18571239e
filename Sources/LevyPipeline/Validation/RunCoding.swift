import LevyDomain

/// How a sorted run of persons is written to disk: each person as four varints, about 11 bytes
/// instead of 32, so a spilled file costs a third of the writes and read-backs (the kernel's page
/// copies were a seventh of a check's CPU).
///
/// In a run sorted by key the keys go up, so each is written as its distance from the one before;
/// the base and the ordinal are small numbers; the line is the ordinal plus the header and any blank
/// lines, written as that difference, with the change in its two low bits. Signed values are
/// zigzag-coded, so any `DeclaredPerson` round-trips, whatever a test or a broken file puts in it.
enum RunCoding {
    /// The most bytes one person takes: three 10-byte varints and a 5-byte one.
    static let maxBytes = 35

    /// Encodes into a buffer of its own (one per spill, freed by ``deallocate()``).
    struct Encoder {
        private let buffer: UnsafeMutablePointer<UInt8>
        private var count = 0
        private var previousKey: Int64 = 0
        static let chunk = 64 << 10

        init() { buffer = .allocate(capacity: Self.chunk + RunCoding.maxBytes) }

        func deallocate() { buffer.deallocate() }

        /// The chunk is ready to be written (``flush(_:)``).
        var isFull: Bool { count >= Self.chunk }

        /// Adds the next person of the run (in roster order).
        mutating func append(_ person: DeclaredPerson) {
            put(UInt64(bitPattern: person.key &- previousKey))
            previousKey = person.key
            put(RunCoding.zigzag(person.baseFen))
            put(RunCoding.zigzag(Int64(person.ordinal)))
            put(RunCoding.zigzag(Int64(person.line) - Int64(person.ordinal)) << 2 | UInt64(person.change.rawValue & 3))
        }

        /// Hands the bytes encoded since the last flush to `write`, then starts a new chunk.
        mutating func flush(_ write: (UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
            try write(UnsafeBufferPointer(start: buffer, count: count))
            count = 0
        }

        @inline(__always)
        private mutating func put(_ value: UInt64) {
            var v = value
            while v >= 0x80 {
                buffer[count] = UInt8(truncatingIfNeeded: v) | 0x80
                count += 1
                v >>= 7
            }
            buffer[count] = UInt8(v)
            count += 1
        }
    }

    struct Decoder {
        private var previousKey: Int64 = 0

        /// The next person from `bytes` at `position` (moved past it); nil if the bytes are not a person.
        mutating func next(from bytes: UnsafeBufferPointer<UInt8>, at position: inout Int) -> DeclaredPerson? {
            guard let delta = Self.varint(bytes, &position), let base = Self.varint(bytes, &position),
                  let ordinal = Self.varint(bytes, &position), let lineAndChange = Self.varint(bytes, &position),
                  let change = RosterChange(rawValue: UInt8(lineAndChange & 3)) else { return nil }
            let key = previousKey &+ Int64(bitPattern: delta)
            previousKey = key
            let ordinalValue = RunCoding.unzigzag(ordinal)
            let line = ordinalValue &+ RunCoding.unzigzag(lineAndChange >> 2)
            return DeclaredPerson(key: key, baseFen: RunCoding.unzigzag(base), line: Int32(truncatingIfNeeded: line),
                                  ordinal: Int32(truncatingIfNeeded: ordinalValue), change: change)
        }

        @inline(__always)
        private static func varint(_ bytes: UnsafeBufferPointer<UInt8>, _ position: inout Int) -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while position < bytes.count && shift < 64 {
                let b = bytes[position]
                position += 1
                value |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return value }
                shift += 7
            }
            return nil
        }
    }

    static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }
    static func unzigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1) }
}
