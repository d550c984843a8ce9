import HGCore
import HGGraph
import HGTestSupport

extension History {
    /// The graph of `order` (default: creation order).
    func graph(_ order: [Operation]? = nil) throws -> Graph {
        try Graph(summaries(order))
    }
}
