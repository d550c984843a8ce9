import HGCore

/// What checkout does at one path: the rule that only what hg-bft itself put in the working tree
/// is ever replaced or removed (FORMAT.md 4.0), as a pure function of what is known about the
/// path, so that every case is tested without a disk.
public enum CheckoutDecision: Equatable, Sendable {
    /// Nothing to write: the working file is already the merged version (its stamp is then
    /// remembered as hg-bft's).
    case upToDate
    /// Nothing to do, and nothing to remember: what is there is the user's, and no newer version
    /// needs its place.
    case nothing
    /// Nothing is there and nothing is wanted: the work-tree cache forgets the path.
    case forget
    /// Write the merged version; `replacing` when a file hg-bft knows of is replaced (else
    /// nothing may be at the path, and the write refuses to replace anything it finds).
    case write(replacing: Bool)
    /// Remove the file hg-bft wrote there.
    case remove
    /// Leave the path as it is, for this reason.
    case leave(LeftAlone)

    /// Why a path is left alone.
    public enum LeftAlone: Equatable, Sendable {
        /// An uncommitted edit or deletion of a tracked file, where nothing new arrived.
        case uncommitted
        /// An uncommitted edit or deletion of a tracked file meets a newer merged version: the
        /// whole checkout stops, so that the user commits first and the two meet as a conflict.
        case clash
        /// An untracked file of the user's where a newer version goes.
        case untrackedInTheWay
        /// Something the scan does not list (an ignored file, a link, a special file) where a
        /// newer version goes.
        case unlistedInTheWay
    }

    /// The decision at one path.
    /// - Parameters:
    ///   - desired: the version the merged state wants there (`nil`: none).
    ///   - current: the regular file there, hashed (`nil`: none, or nothing the scan lists).
    ///   - baseline: what hg-bft last wrote or committed there (the work-tree cache; `nil`: the
    ///     path is not tracked).
    ///   - unlisted: something that is not a regular file the scan lists is there.
    ///   - arrives: the merged value differs from the working tree's base at this path.
    ///   - force: `checkout --force`: discard uncommitted edits and deletions of tracked files.
    public static func decide(
        desired: FileVersion?, current: FileVersion?, baseline: FileVersion?, unlisted: Bool,
        arrives: Bool, force: Bool
    ) -> CheckoutDecision {
        if let desired, let current, current == desired { return .upToDate }
        if desired == nil && current == nil { return unlisted ? .nothing : .forget }
        let tracked = baseline != nil
        let clean = !unlisted && current == baseline
        if clean || (force && tracked && !unlisted) {
            return desired == nil ? .remove : .write(replacing: current != nil)
        }
        // Left alone: the user's change or file. Named when a newer version meets it, or when
        // it is an uncommitted change to a tracked file; the user's own file where nothing is
        // wanted, or where nothing new arrives, is simply theirs.
        let yours = unlisted || !tracked
        if desired == nil && yours { return .nothing }
        if arrives { return .leave(yours ? (unlisted ? .unlistedInTheWay : .untrackedInTheWay) : .clash) }
        return tracked ? .leave(.uncommitted) : .nothing
    }
}
