//! The ledger batch thread's scheduling priority.
//!
//! Every batch passes through that one thread twice: it decides and encodes the batch before
//! PostgreSQL can start on it, and reads the commit before it can answer the callers and send
//! the next batch. So whenever it is ready to run but waits for a core behind the HTTP
//! workers, the database waits too. Measured on a 2-core machine shared with PostgreSQL and
//! the load generator (`perf sched`, bench/RESULTS.md): at the default priority the thread
//! spent about 0.6 ms per batch ready but not running, on batches of about 2 ms. A lower nice
//! value makes the scheduler favour it: at -5 it waited about a quarter less. Not to zero: under
//! EEVDF a woken thread of higher weight often still waits out the running thread's slice.
//!
//! On Linux the nice value belongs to the thread: `setpriority(PRIO_PROCESS, 0, n)` changes
//! only the calling thread (setpriority(2), "BUGS"). Going below 0 needs `CAP_SYS_NICE` or an
//! `RLIMIT_NICE` allowing it (the compose file sets one); without either the thread keeps its
//! priority and the server runs on, slower under CPU contention (docs/operations.md).

/// Sets the calling thread's nice value (-20 to 19; 0 leaves it alone). Linux only: elsewhere
/// `PRIO_PROCESS` names the whole process, not the thread.
pub(crate) fn set_current_thread_nice(nice: i32) {
    if nice == 0 || !cfg!(target_os = "linux") {
        return;
    }
    match rustix::process::setpriority_process(None, nice) {
        Ok(()) => tracing::info!(nice, "ledger batch thread priority set"),
        // Info, not a warning: the server is correct either way, and a container without the
        // privilege is the common case (docs/operations.md).
        Err(e) => tracing::info!(
            nice,
            error = %e,
            "the ledger batch thread keeps the default priority: a nice value below 0 needs \
             CAP_SYS_NICE or an RLIMIT_NICE allowing it"
        ),
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// The calling thread's nice value (`getpriority(PRIO_PROCESS, 0)`: on Linux, this thread's).
    /// The server's integration test reads it from /proc instead, for the real binary.
    fn nice_of_this_thread() -> i32 {
        rustix::process::getpriority_process(None).unwrap()
    }

    #[test]
    fn the_nice_value_applies_to_the_calling_thread_only() {
        // Raising the nice value (a lower priority) needs no privilege, so this runs anywhere.
        let before = nice_of_this_thread();
        let lower = (before + 3).clamp(1, 19); // 0 would mean "leave it alone"
        let (inside, other) = std::thread::scope(|s| {
            let inside = s.spawn(|| {
                super::set_current_thread_nice(lower);
                nice_of_this_thread()
            });
            let inside = inside.join().unwrap();
            let other = s.spawn(nice_of_this_thread).join().unwrap();
            (inside, other)
        });
        assert_eq!(inside, lower);
        assert_eq!(other, before, "a new thread does not inherit another thread's change");
        assert_eq!(nice_of_this_thread(), before);
    }
}
