//! Keeps the memory an invocation frees for the next one. glibc hands a
//! freed block over its mmap threshold back to the kernel (`munmap`), and
//! trims the heap's top once more than its trim threshold is free; both
//! thresholds start at 128 KiB and move with the program's pattern. A full
//! batch's 6 MB body, its copies and its parse then come back as fresh pages
//! on many warm invocations: the `lambda_path` bench counted about 2,800
//! minor page faults on one warm invocation in three, each such invocation
//! 5-10 ms slower, for the consumer and a function doing no work alike.
//!
//! Setting either threshold fixes it and turns off the dynamic adjustment
//! (glibc manual, "Malloc Tunable Parameters": "If the parameter is set, the
//! dynamic adjustment is disabled"): blocks up to 32 MiB (the largest
//! threshold glibc accepts on 64-bit) come from the heap, and the heap keeps
//! up to 64 MiB free at its top. A 6 MB batch holds some 25 MiB at its peak,
//! well inside the function's 512 MB.

#![allow(unsafe_code)]

/// Largest block taken from the heap rather than mapped on its own.
pub const MMAP_THRESHOLD_BYTES: i32 = 32 << 20;
/// Free memory the heap keeps at its top before giving any back.
pub const TRIM_THRESHOLD_BYTES: i32 = 64 << 20;

/// Applies the thresholds; false where the allocator is not glibc's or
/// refused them (the function still works, only with fresh pages more
/// often). Call once, first thing in `main`.
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `mallopt` only sets the allocator's parameters; called
        // at start-up, before the runtime's threads exist.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    /// Minor page faults of the calling thread so far.
    fn thread_faults() -> i64 {
        // SAFETY: getrusage writes the struct it is given, nothing else.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
        usage.ru_minflt
    }

    /// A 6 MB block filled, freed, and asked for again.
    fn refill_faults() -> i64 {
        let fill = |n: usize| {
            let block = vec![7u8; n];
            std::hint::black_box(&block);
        };
        fill(6 << 20);
        let before = thread_faults();
        fill(6 << 20);
        thread_faults() - before
    }

    #[test]
    fn a_freed_batch_sized_block_comes_back_without_fresh_pages() {
        assert!(keep_freed_memory(), "glibc took the thresholds");
        // 6 MiB is 1,536 pages; reused memory faults none of them.
        let faults = refill_faults();
        assert!(faults < 100, "{faults} minor faults refilling a freed 6 MiB block");
    }
}
