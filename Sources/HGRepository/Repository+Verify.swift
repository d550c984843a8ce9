import HGAudit
import HGStore

// The report types are HGAudit's; front ends name them through the façade.
public typealias VerifyReport = HGAudit.VerifyReport
public typealias VerifyProblem = HGAudit.VerifyProblem
public typealias VerifyCheck = HGAudit.VerifyCheck
public typealias Invariant = HGAudit.Invariant
public typealias InvariantResult = HGAudit.InvariantResult
public typealias AuthorSummary = HGAudit.AuthorSummary
public typealias Equivocation = HGAudit.Equivocation

extension Repository {
    /// The first level of the audit: every object's id and encoding, every
    /// signature, every parent present, per-author sequence numbers, and the
    /// index and every cache consistent with the objects. Reports every
    /// problem found, not just the first (`Audit` in HGAudit does the work).
    public func verify(progress: ((String, Int, Int) -> Void)? = nil) throws(RepositoryError) -> VerifyReport {
        do {
            return try Audit(auditInputs).run(progress: progress)
        } catch {
            switch error {
            case let .store(e): throw .store(e)
            case let .graph(e): throw .graph(e)
            case .signatureChecksIncomplete: throw .inconsistent("the signature checks did not complete")
            }
        }
    }

    /// What the audit reads through the façade: the index length, the base and the identity.
    private var auditInputs: AuditInputs {
        AuditInputs(
            layout: layout, genesis: genesis, objects: objects, indexLength: indexLength,
            readBase: {
                do throws(RepositoryError) {
                    return try self.readBase().map(BaseReading.present) ?? .absent
                } catch {
                    if case let .baseDamaged(_, reason) = error { return .damaged(reason: reason) }
                    return .unreadable(error.description)
                }
            },
            identityProblem: {
                do throws(RepositoryError) {
                    let peer = try self.peerID()
                    if let configured = self.config.value("core", "peer"), configured != peer.text {
                        return "key does not match core.peer in the config (\(configured))"
                    }
                    return nil
                } catch {
                    return error.description
                }
            })
    }
}
