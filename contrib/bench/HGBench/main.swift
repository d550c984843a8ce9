import HGCore
import HGCrypto
import HGRepository

#if canImport(Glibc)
import Glibc
#endif

// Benchmark driver: bulk-populates repositories through the library and
// measures the Ed25519 signing ceiling and verification floor. contrib/bench/bench.py
// and verify_bench.py run it; the numbers go to docs/PERFORMANCE.md.
//
//   hg-bft-bench populate <repo> <operations> [files]   one-file changes in batches
//   hg-bft-bench sign <count>                           Ed25519 signatures per second, one core
//   hg-bft-bench verify-signatures <count>              Ed25519 verifications per second of one core's CPU time
//   hg-bft-bench load <repo> [rounds]                   opening the repository and building its DAG

func seconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// CPU time of the calling thread: what one core spent, however many other jobs share it.
func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
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
case "verify-signatures":
    // What verify's signature checks cannot beat: one libsodium verification per operation, of a
    // message the size of an operation's signed bytes. Distinct messages, signed before the clock
    // starts, so that nothing is cached between verifications.
    guard args.count >= 2, let count = Int(args[1]), count > 0 else { fail("usage: verify-signatures <count>") }
    do {
        let key = try Ed25519.KeyPair.generate()
        let distinct = min(count, 1024)
        let messages = (0..<distinct).map { i in (0..<250).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i &* 7) } }
        let signatures = messages.map { key.sign($0) }
        var failed = 0
        let start = seconds()
        let startCPU = threadCPUSeconds()
        for i in 0..<count {
            let k = i % distinct
            if !Ed25519.verify(signature: signatures[k], message: messages[k], publicKey: key.publicKey) { failed += 1 }
        }
        // The CPU time is the measure: on a shared machine the wall time also counts waiting for the core.
        let cpu = threadCPUSeconds() - startCPU
        let elapsed = seconds() - start
        guard failed == 0 else { fail("\(failed) of \(count) verifications failed") }
        print(
            "{\"verifications\": \(count), \"seconds\": \(elapsed), \"cpu_seconds\": \(cpu), \"seconds_each\": \(cpu / Double(count)), \"per_second\": \(Double(count) / cpu)}"
        )
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
    fail(
        "usage: hg-bft-bench populate <repo> <operations> [files] | sign <count> | verify-signatures <count> | load <repo> [rounds]"
    )
}
