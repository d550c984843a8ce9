import HGRepository

/// Opens the repository that contains the current directory.
func openRepository() throws -> Repository {
    try Repository.discover(from: Repository.currentDirectory())
}
