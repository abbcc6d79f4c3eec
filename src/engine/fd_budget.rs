//! The open-file budget: raises rune's soft RLIMIT_NOFILE to its hard limit
//! (as servers do: the soft default of 1024 is a relic of `select`, which
//! rune never uses) and says how many targets may run at once with the
//! descriptors that gives. A run wider than that would fail targets with
//! "Too many open files" instead of queueing them.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Descriptors one running target may hold at its peak: a local plugin's
/// three pipes (both ends until spawn returns), std's exec-error pipe, the
/// run directory's lock and the files of its bundle being unpacked; an SSH
/// target needs fewer (one socket per host, shared). Generous on purpose.
pub const FDS_PER_TARGET: u64 = 8;

/// Descriptors kept for everything else: stdio, the journal (database,
/// -wal, -shm), the log, the runtime's epoll and wakers, the catalog and
/// inventory reads, the SSM client's connections.
pub const FDS_RESERVED: u64 = 128;

/// Raises the soft open-file limit to the hard one, once per process (later
/// calls find it raised), and returns how many targets may run at once.
/// When the limit cannot be read or raised, what is in force is used.
pub fn raise_and_budget() -> usize {
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %e, "cannot raise the open-file limit to the hard limit");
        }
    }
    // `None` is RLIM_INFINITY: no bound from descriptors.
    budget(getrlimit(Resource::Nofile).current)
}

/// Targets at once that `soft` descriptors allow (at least one, so a run
/// always makes progress).
fn budget(soft: Option<u64>) -> usize {
    soft.map_or(usize::MAX, |soft| {
        let targets = soft.saturating_sub(FDS_RESERVED) / FDS_PER_TARGET;
        usize::try_from(targets.max(1)).unwrap_or(usize::MAX)
    })
}

#[cfg(test)]
mod tests {
    use super::budget;

    #[test]
    fn the_budget_leaves_a_reserve_and_never_reaches_zero() {
        assert_eq!(budget(Some(1024)), 112);
        assert_eq!(budget(Some(64)), 1);
        assert_eq!(budget(None), usize::MAX);
        assert_eq!(budget(Some(1_048_576)), 131_056);
    }
}
