import HGRepository

/// How membership changes read in `show`, `log` and `member` output.
enum MembershipText {
    /// A sentence with full peer ids, e.g. `add hg… as writer`.
    static func sentence(_ change: MembershipChange) -> String {
        switch change {
        case let .add(peer, role): return "add \(peer.text) as \(role)"
        case let .remove(peer): return "remove \(peer.text)"
        case let .setRole(peer, role): return "make \(peer.text) \(role == .admin ? "an admin" : "a writer")"
        case let .setQuorum(epoch, quorum): return "set the admin quorum to \(quorum) (quorum change \(epoch + 1))"
        }
    }
}

/// A membership change in JSON: `action` is add, remove, role or quorum.
struct MembershipJSON: Encodable {
    let action: String
    let member: String?
    let role: String?
    let quorum: Int?
    let epoch: UInt64?

    init(_ change: MembershipChange) {
        switch change {
        case let .add(peer, role):
            (action, member, self.role, quorum, epoch) = ("add", peer.text, role.description, nil, nil)
        case let .remove(peer): (action, member, self.role, quorum, epoch) = ("remove", peer.text, nil, nil, nil)
        case let .setRole(peer, role):
            (action, member, self.role, quorum, epoch) = ("role", peer.text, role.description, nil, nil)
        case let .setQuorum(e, q): (action, member, self.role, quorum, epoch) = ("quorum", nil, nil, q, e)
        }
    }
}

/// The members table shared by `member list` and `verify`.
enum MemberTable {
    static func lines(_ outcome: MembershipOutcome) -> [String] {
        var lines: [String] = []
        for m in outcome.bySeniority {
            var line = "\(m.peer.text)  \(m.role.description.padded(to: 6))  rank \(m.rank)"
            if let by = m.addedBy {
                line += "  added by \(by.short) \(TimeFormat.utc(m.addedAt)) in \(m.addedIn.short)"
            } else if m.rank == 1 {
                line += "  founder"
            }
            if m.contested { line += "  (contested)" }
            lines.append(line)
        }
        return lines
    }

    /// The membership operations without effect, one line each.
    static func voidedLines(_ outcome: MembershipOutcome) -> [String] {
        outcome.voided.sorted { $0.key < $1.key }.map { id, reason in "\(id.short): no effect: \(reason)" }
    }
}

/// One member in JSON.
struct MemberJSON: Encodable {
    let peer: String
    let role: String
    let rank: Int
    let addedBy: String?
    let addedIn: String
    let addedAt: String
    let contested: Bool

    init(_ m: MemberInfo) {
        peer = m.peer.text
        role = m.role.description
        rank = m.rank
        addedBy = m.addedBy?.text
        addedIn = m.addedIn.hex
        addedAt = TimeFormat.iso(m.addedAt)
        contested = m.contested
    }
}

/// The whole membership in JSON.
struct MembershipOutcomeJSON: Encodable {
    struct Voided: Encodable {
        let operation: String
        let reason: String
    }
    let quorum: Int
    /// How many members are admins: 0 when concurrent step-downs left nobody who can change
    /// the membership (ACCESS-CONTROL.md 3.7).
    let admins: Int
    let members: [MemberJSON]
    let withoutEffect: [Voided]

    init(_ outcome: MembershipOutcome) {
        quorum = outcome.quorum
        admins = outcome.admins
        members = outcome.bySeniority.map(MemberJSON.init)
        withoutEffect = outcome.voided.sorted { $0.key < $1.key }.map {
            Voided(operation: $0.key.hex, reason: $0.value.description)
        }
    }
}
