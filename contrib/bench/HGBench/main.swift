import HGCore
import HGCrypto
import HGRepository
#if canImport(Glibc)
import Glibc
#endif

// Benchmark driver: bulk-populates repositories through the library and
// measures the Ed25519 signing ceiling. contrib/bench/bench.py runs it; the
// numbers go to docs/PERFORMANCE.md.
//
//   hg-bft-bench populate <repo> <operations> [files]   one-file changes in batches
//   hg-bft-bench sign <count>                           Ed25519 signatures per second, one core
//   hg-bft-bench load <repo> [rounds]                   opening the repository and building its DAG

func seconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func fail(_ message: String) -> Never {
    print("hg-bft-bench: \(message)")
    exit(2)
}

let args = Array(CommandLine.arguments.dropFirst())
switch args.first {
case "populate":
    guard args.count >= 3, let total = Int(args[2]) else { fail("usage: populate <repo> <operations> [files]") }
    let fileCount = args.count >= 4 ? Int(args[3]) ?? 100 : 100
    let repository: Repository
    do { repository = try Repository.discover(from: args[1]) } catch { fail("\(error)") }
    let paths: [RepoPath]
    do { paths = try (0..<fileCount).map { try RepoPath("dir\($0 % 10)/file\($0).txt") } } catch { fail("\(error)") }
    let batchSize = 10_000
    var done = 0
    let start = seconds()
    while done < total {
        let count = min(batchSize, total - done)
        let changes = (0..<count).map { i -> BatchChange in
            let n = done + i
            let line = "operation \(n): the quick brown fox jumps over the lazy dog \(n &* 2654435761 % 1000003)\n"
            return BatchChange(message: "change \(n)", files: [(paths[n % paths.count], Array(line.utf8))])
        }
        do { _ = try repository.commitBatch(changes) } catch { fail("\(error)") }
        done += count
    }
    let elapsed = seconds() - start
    print("{\"operations\": \(total), \"seconds\": \(elapsed), \"per_second\": \(Double(total) / elapsed)}")
case "sign":
    guard args.count >= 2, let count = Int(args[1]) else { fail("usage: sign <count>") }
    do {
        let key = try Ed25519.KeyPair.generate()
        var message = [UInt8](repeating: 7, count: 250)
        let start = seconds()
        for i in 0..<count {
            message[0] = UInt8(truncatingIfNeeded: i)
            _ = key.sign(message)
        }
        let elapsed = seconds() - start
        print("{\"signatures\": \(count), \"seconds\": \(elapsed), \"per_second\": \(Double(count) / elapsed)}")
    } catch { fail("\(error)") }
case "load":
    guard args.count >= 2 else { fail("usage: load <repo> [rounds]") }
    let rounds = args.count >= 3 ? Int(args[2]) ?? 20 : 20
    do {
        var times: [Double] = []
        var nodes = 0
        for _ in 0..<rounds {
            let start = seconds()
            let repository = try Repository.discover(from: args[1])
            nodes = try repository.loadGraph().count
            times.append(seconds() - start)
        }
        times.sort()
        print("{\"nodes\": \(nodes), \"median_seconds\": \(times[times.count / 2]), \"min_seconds\": \(times[0])}")
    } catch { fail("\(error)") }
default:
    fail("usage: hg-bft-bench populate <repo> <operations> [files] | sign <count> | load <repo> [rounds]")
}
