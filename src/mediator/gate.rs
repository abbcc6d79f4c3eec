//! The start gate: a plugin starts only once the journal has committed its
//! `started` event (Invariant 8, no unaudited action). Without it the
//! mediator ran ahead of a journal that was stuck behind another writer's
//! lock or a full disk, and every plugin started meanwhile was lost from
//! the record when the write finally failed.
//!
//! The journal writer holds the [`StartGate`] and opens it per execution
//! after each commit; the mediator waits on a [`StartWait`]. Dropping the
//! gate (the writer failed or stopped) closes it for good. The gate only
//! carries ids; it never touches the journal or a transport itself.

use std::collections::HashSet;

use tokio::sync::watch;

use super::event::ExecId;

/// The journal writer's side: says which executions' `started` rows are on disk.
pub struct StartGate {
    committed_tx: watch::Sender<HashSet<ExecId>>,
}

/// The mediator's side: waits until one execution may start.
#[derive(Clone)]
pub struct StartWait {
    committed_rx: watch::Receiver<HashSet<ExecId>>,
}

/// A new, closed gate and its waiting side.
pub fn start_gate() -> (StartGate, StartWait) {
    let (committed_tx, committed_rx) = watch::channel(HashSet::new());
    (StartGate { committed_tx }, StartWait { committed_rx })
}

impl StartGate {
    /// Lets these executions start: their `started` events have committed.
    pub fn open<'a>(&self, execs: impl IntoIterator<Item = &'a ExecId>) {
        let mut execs = execs.into_iter().peekable();
        if execs.peek().is_some() {
            self.committed_tx
                .send_modify(|set| set.extend(execs.cloned()));
        }
    }
}

impl StartWait {
    /// True once `exec` may start; false if the gate was dropped first.
    pub async fn committed(&self, exec: &ExecId) -> bool {
        let mut rx = self.committed_rx.clone();
        rx.wait_for(|set| set.contains(exec)).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_its_own_commit_and_fails_when_the_gate_drops() {
        let (gate, wait) = start_gate();
        let (a, b) = (ExecId("a".into()), ExecId("b".into()));
        let waiter = {
            let wait = wait.clone();
            let b = b.clone();
            tokio::spawn(async move { wait.committed(&b).await })
        };
        gate.open([&a]);
        assert!(wait.committed(&a).await);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "b started before its commit");
        gate.open([&b]);
        assert!(waiter.await.unwrap());

        let c = ExecId("c".into());
        let waiter = tokio::spawn(async move { wait.committed(&c).await });
        drop(gate);
        assert!(!waiter.await.unwrap());
    }
}
