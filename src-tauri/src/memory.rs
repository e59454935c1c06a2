//! glibc's malloc, tuned so that memory freed goes back to the system.
//!
//! By default glibc raises its threshold for mapping a block apart each
//! time such a block is freed, up to 32 MiB: after the first photo's
//! thumbnail is made (a 1600-pixel photo decodes to a 5.5 MiB buffer),
//! later buffers come from the heap of the thread that made them, and
//! each blocking thread keeps its heap's high-water mark after the
//! buffer is freed. A fixed threshold maps every block of 128 KiB or more
//! apart and unmaps it when freed. WebKit's web process gains in the
//! same way from the same setting, which reaches it, a process of its
//! own, only through its environment. benches/app.rs prints each
//! process's memory after opening 20 jobs with photos.

/// Blocks at least this large are mapped apart and unmapped when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: usize = 128 * 1024;

/// Sets the threshold for this process and for the web view's processes
/// it starts. Called first thing in `main`, before any other thread
/// exists to read the environment.
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes malloc's parameters, and is called
        // before any other thread allocates.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as libc::c_int);
        }
        std::env::set_var("MALLOC_MMAP_THRESHOLD_", MMAP_THRESHOLD.to_string());
    }
}
