internal import CMalloc

/// Keeps memory that the process frees for its own reuse instead of handing it back to the
/// kernel at once.
///
/// By default glibc serves each allocation over 128 KiB with its own mapping and unmaps it
/// when freed, and trims the heap whenever its free top passes a threshold; every reuse then
/// faults the pages in again. A command here builds a few large buffers and tables (the index
/// read, the DAG, a pack) and frees them within a fraction of a second, so those faults were
/// a large part of its system time: a sync of 2,000 operations took about 8,700 page faults,
/// at several microseconds each on a virtual machine. The process is short-lived, so what it
/// keeps is bounded by its peak use and returns to the system when it exits.
func keepFreedMemoryForReuse() {
    _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)  // glibc's largest accepted value (64-bit)
    _ = mallopt(M_TRIM_THRESHOLD, 1 << 30)
    _ = mallopt(M_TOP_PAD, 16 << 20)
}
