// What a client of the façade (the hg-bft executable) sees without importing anything else.
//
// HGCore is the data model the whole API is written in (object and peer ids, operations,
// payloads, roles), so it is re-exported whole. From the subsystems only the types
// that appear in the façade's own signatures are re-exported, one by one, so that what the
// façade keeps behind it (the file system, packs, the graph, pipes and sessions) stays out of
// its clients' reach. Scoped `@_exported import`s rather than typealiases: a typealias is a
// second declaration of the name, ambiguous in code that imports the subsystem as well (tests).
@_exported import HGCore

@_exported import struct HGState.MemberInfo
@_exported import struct HGState.MembershipOutcome
@_exported import struct HGStore.Config
@_exported import class HGSync.ByteStream
@_exported import enum HGSync.RemoteAddress
@_exported import class HGSync.Subprocess
@_exported import struct HGSync.SyncOptions
@_exported import typealias HGSync.SyncProgress
// The clock the façade's timestamps default to (`commit(timestamp:)`), and the monotonic one
// progress lines measure with.
@_exported import enum HGSystem.Clock
