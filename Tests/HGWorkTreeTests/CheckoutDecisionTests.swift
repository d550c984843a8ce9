import HGCore
import HGCrypto
import HGWorkTree
import Testing

/// Checkout's rule at one path (FORMAT.md 4.0): only what hg-bft put there is replaced or
/// removed, whatever the user's file is and whatever arrived.
@Suite struct CheckoutDecisionTests {
    private static func version(_ text: String, _ mode: FileMode = .regular) -> FileVersion {
        FileVersion(blob: Blob.id(of: Array(text.utf8)), mode: mode)
    }
    private let old = Self.version("old")
    private let new = Self.version("new")
    private let mine = Self.version("mine")

    private func decide(
        desired: FileVersion?, current: FileVersion?, baseline: FileVersion?, unlisted: Bool = false,
        arrives: Bool = true, force: Bool = false
    ) -> CheckoutDecision {
        CheckoutDecision.decide(
            desired: desired, current: current, baseline: baseline, unlisted: unlisted,
            arrives: arrives, force: force)
    }

    @Test func whatHgBftWroteIsReplacedOrRemoved() {
        #expect(decide(desired: new, current: old, baseline: old) == .write(replacing: true))
        #expect(decide(desired: nil, current: old, baseline: old) == .remove)
        #expect(decide(desired: new, current: nil, baseline: nil) == .write(replacing: false))
        #expect(decide(desired: new, current: new, baseline: old) == .upToDate)
        #expect(decide(desired: nil, current: nil, baseline: old) == .forget)
        // A mode change alone is a change.
        #expect(
            decide(desired: new, current: Self.version("old", .executable), baseline: old, arrives: false)
                == .leave(.uncommitted))
    }

    @Test func anUncommittedEditStaysAndMeetingANewerVersionStopsTheCheckout() {
        #expect(decide(desired: old, current: mine, baseline: old, arrives: false) == .leave(.uncommitted))
        #expect(decide(desired: new, current: mine, baseline: old) == .leave(.clash))
        #expect(decide(desired: new, current: nil, baseline: old) == .leave(.clash))  // deleted by the user
        #expect(decide(desired: nil, current: mine, baseline: old) == .leave(.clash))
        // --force discards edits and deletions of tracked files.
        #expect(decide(desired: new, current: mine, baseline: old, force: true) == .write(replacing: true))
        #expect(decide(desired: new, current: nil, baseline: old, force: true) == .write(replacing: false))
        #expect(decide(desired: nil, current: mine, baseline: old, force: true) == .remove)
    }

    @Test func untrackedIgnoredAndLinkedFilesAreNeverTouchedEvenWithForce() {
        for force in [false, true] {
            #expect(decide(desired: new, current: mine, baseline: nil, force: force) == .leave(.untrackedInTheWay))
            #expect(decide(desired: nil, current: mine, baseline: nil, force: force) == .nothing)
            #expect(
                decide(desired: new, current: nil, baseline: nil, unlisted: true, force: force)
                    == .leave(.unlistedInTheWay))
            #expect(
                decide(desired: new, current: nil, baseline: old, unlisted: true, force: force)
                    == .leave(.unlistedInTheWay))
            #expect(decide(desired: nil, current: nil, baseline: old, unlisted: true, force: force) == .nothing)
            #expect(decide(desired: new, current: mine, baseline: nil, arrives: false, force: force) == .nothing)
        }
    }
}
