import ArgumentParser
import HGRepository

extension HGBFT {
    struct Member: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "member",
            abstract: "Manage who may write: add, remove and re-rank members.",
            discussion: """
                Membership is part of the history: each change is a signed operation, and every replica \
                computes the same members from the same operations (docs/ACCESS-CONTROL.md). The founder \
                (who ran 'init') is the first admin. Admins add, remove and re-rank members; writers \
                commit. An operation counts only if its author held the role in its own causal past, so a \
                peer must be added, and must sync, before its commits are accepted anywhere.

                Concurrent changes are resolved the same way on every replica: a removed member's \
                operations concurrent with the removal have no effect; when admins remove each other \
                concurrently, the more senior one's removal stands (the founder ranks 1, a member added or \
                promoted by rank i ranks i+1); a removal signed by the admin quorum overrides seniority.

                Examples:
                  hg-bft id                          your peer id, to send to an admin
                  hg-bft member add hgqx4…           add a writer (the full peer id)
                  hg-bft member add hgqx4… --admin   add an admin
                  hg-bft member role hgqx4 admin     promote (a unique prefix works)
                  hg-bft member remove hgqx4
                  hg-bft member list --json
                  hg-bft member quorum 3             propose a new admin quorum
                """,
            subcommands: [Add.self, Remove.self, Role.self, List.self, Quorum.self])
    }
}

/// A peer id typed by the user: a full id, or a unique prefix of a current member's id (the
/// membership is computed only for a prefix).
private func resolvePeer(_ text: String, in repository: Repository) throws -> PeerID {
    if let peer = PeerID(text: text) { return peer }
    let members = (try? repository.membership())?.members.keys
    let matches = members.map { Array($0) }?.filter { $0.text.hasPrefix(text) } ?? []
    if text.count >= 4, matches.count == 1, let only = matches.first { return only }
    if matches.count > 1 {
        throw ValidationError(
            "'\(text)' matches \(matches.count) members: \(matches.map(\.short).sorted().joined(separator: ", ")); type more of the id"
        )
    }
    throw ValidationError(
        "'\(text)' is not a peer id or a unique prefix of a member's (a peer id is 'hg' and 55 more characters; 'hg-bft id' prints yours)"
    )
}

/// Prints what a membership command did.
private func report(_ result: MembershipResult, json: Bool) throws {
    if json {
        try JSONOutput.print(
            MemberChangeJSON(
                id: result.id.hex, change: MembershipJSON(result.change),
                membership: MembershipOutcomeJSON(result.outcome)))
    } else {
        Terminal.out("[\(result.id.short)] \(MembershipText.sentence(result.change))")
    }
}

private struct MemberChangeJSON: Encodable {
    let id: String
    let change: MembershipJSON
    let membership: MembershipOutcomeJSON
}

extension HGBFT.Member {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add", abstract: "Add a member (a writer, or an admin with --admin).",
            discussion: """
                The new member runs 'hg-bft id' and sends you the id; after you add them, sync so that \
                their replica learns it before they commit.

                Example:
                  hg-bft member add hgqx4ktm… --admin
                """)
        @Argument(help: "The new member's peer id (from 'hg-bft id' on their replica).") var peer: String
        @Flag(help: "Make them an admin rather than a writer.") var admin = false
        @OptionGroup var output: JSONFlag

        func run() throws {
            guard let id = PeerID(text: peer) else {
                throw ValidationError(
                    "'\(peer)' is not a peer id (it is 'hg' and 55 more characters; 'hg-bft id' prints one)")
            }
            try report(try openRepository().changeMembership(.add(id, admin ? .admin : .writer)), json: output.json)
        }
    }
}

extension HGBFT.Member {
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove", abstract: "Remove a member.",
            discussion: """
                Their operations that causally precede the removal keep their effect; those concurrent \
                with it (made without having seen it) lose it, and so do members they added concurrently. \
                The only admin cannot remove or demote themselves: nobody could change the membership \
                again. Make another member an admin first.

                Example:
                  hg-bft member remove hgqx4
                """)
        @Argument(help: "The member's peer id or a unique prefix of it.") var peer: String
        @OptionGroup var output: JSONFlag

        func run() throws {
            let repository = try openRepository()
            let id = try resolvePeer(peer, in: repository)
            try report(try repository.changeMembership(.remove(id)), json: output.json)
        }
    }
}

extension HGBFT.Member {
    struct Role: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "role", abstract: "Make a member an admin or a writer.",
            discussion: "Examples:\n  hg-bft member role hgqx4 admin\n  hg-bft member role hgqx4 writer")
        @Argument(help: "The member's peer id or a unique prefix of it.") var peer: String
        @Argument(help: "admin or writer.") var role: String
        @OptionGroup var output: JSONFlag

        func validate() throws {
            // HGCore.Role, the model's role: inside HGBFT.Member, `Role` is this command.
            guard HGCore.Role(name: role) != nil else {
                throw ValidationError("the role is 'admin' or 'writer', not '\(role)'")
            }
        }

        func run() throws {
            let repository = try openRepository()
            let id = try resolvePeer(peer, in: repository)
            try report(
                try repository.changeMembership(.setRole(id, HGCore.Role(name: role) ?? .writer)), json: output.json)
        }
    }
}

extension HGBFT.Member {
    struct Quorum: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "quorum",
            abstract: "Propose a new admin quorum (adopted once the current quorum of admins propose it).",
            discussion: """
                The admin quorum is how many distinct admins must sign removals of one member for those \
                removals to override seniority. It is set by 'init --admin-quorum' and changes only when \
                as many distinct admins as the current quorum propose the same new value.

                Example:
                  hg-bft member quorum 3
                """)
        @Argument(help: "The new quorum (1-255).") var quorum: Int
        @OptionGroup var output: JSONFlag

        func validate() throws {
            guard (1...Limits.maxAdminQuorum).contains(quorum) else {
                throw ValidationError("the quorum is between 1 and \(Limits.maxAdminQuorum)")
            }
        }

        func run() throws {
            let repository = try openRepository()
            let epoch = try repository.membership().quorumEpoch
            try report(try repository.changeMembership(.setQuorum(epoch: epoch, quorum: quorum)), json: output.json)
        }
    }
}

extension HGBFT.Member {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List members: role, rank, who added them and when, and whether contested.",
            discussion: """
                'contested' marks a member whom concurrent membership operations concern (a removal that \
                lost to a more senior one, a concurrent re-add, disagreeing role changes). The membership \
                operations without effect are listed after the members.

                Examples:
                  hg-bft member list
                  hg-bft member list --json
                """)
        @OptionGroup var output: JSONFlag

        func run() throws {
            let outcome = try openRepository().membership()
            if output.json {
                try JSONOutput.print(MembershipOutcomeJSON(outcome))
                return
            }
            for line in MemberTable.lines(outcome) { Terminal.out(line) }
            if outcome.admins == 0 {
                Terminal.out("")
                Terminal.out(
                    "no admin: concurrent changes took every admin's rights, so nobody can change the membership any more"
                )
            }
            let voided = MemberTable.voidedLines(outcome)
            if !voided.isEmpty {
                Terminal.out("")
                Terminal.out("membership operations without effect:")
                for line in voided { Terminal.out("  " + line) }
            }
        }
    }
}
