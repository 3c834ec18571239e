/// The knobs of how fast levy works, in one value. None of them changes what a run produces (the
/// tests run the same day with several settings and compare the outboxes); each says why it has
/// the value it has. docs/PERFORMANCE.md measures them.
package struct Tuning: Sendable {
    /// Declarations per durability batch: one ledger fsync and one archive pass for this many files.
    package var batchSize = 256
    /// Persons from which an accepted declaration starts a batch of its own: the small files before it
    /// are published before its long roster write, and a failure of that write (a spill read back)
    /// takes no other file's change with it (a failed deferred change takes its whole batch).
    package var largeRoster = 1_000
    /// Persons of a file held in memory before a sorted run is spilled to `.levy/tmp` (``PersonSorter``).
    package var personRunLength = 1 << 17
    /// CSV files from this size on are read in two halves at once (``DeclarationFileCheck/splitBytes``).
    package var halvesFrom = DeclarationFileCheck.halvesFrom
    /// XML files from this size on are validated on the other core while their values are read and
    /// written to the ledger (``DeclarationFileCheck/validationAsideBytes``; nil: never).
    package var validationAsideFrom: Int64? = 1 << 20
    /// Read and check the next small files on the other core while one is in the ledger (``Lookahead``).
    package var readsAhead = true
    /// How many of the next small files are read ahead, and how many of their bytes at most (what a
    /// file read ahead holds is about what it is: its persons, its findings). Deep enough that the
    /// intake almost never waits for a read on a disk that stalls now and then.
    package var readAheadDepth = 64
    package var readAheadBytes: Int64 = 8 << 20
    /// How many lines of a bank notification are matched against the ledger together and go to it in
    /// one deferred change (the whole file still commits or rolls back as one).
    package var notificationChunk = 4096
    /// The nice value of the thread that matches a notification's lines while another parses them and a
    /// third checks the schema: three busy threads on two cores, of which the schema check is the
    /// longest; matching yields to it and catches up when it is done (0: an equal share, 2–5% slower
    /// in a notification of 500,000 entries).
    package var matchingNice: Int32 = 10

    package init() {}
}

/// What the speed machinery did in this process's runs, for the operator (`.levy/metrics/levy.prom`,
/// `levy_speed_*`): whether the files were read ahead, and how often a declaration written before its
/// XSD verdict had to be taken back.
package struct SpeedCounters: Sendable, Equatable {
    /// Files whose read and check on the other core were used.
    package var filesReadAhead = 0
    /// The most files read ahead at once.
    package var mostFilesAhead = 0
    /// Declarations written to the ledger before their XSD verdict and taken back.
    package var declarationsTakenBack = 0
}
