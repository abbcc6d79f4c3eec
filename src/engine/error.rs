//! What can stop the engine from opening. A refused or failed run is not an
//! error here: it is a [`Failure`](crate::mediator::eps::Failure) that the
//! run's handle returns and the sink receives, mapped to EPS in one place.

/// Why the engine could not be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `~/.ssh/config` (or the file named) could not be read.
    #[error("ssh config: {0}")]
    SshConfig(String),
    /// The journal cannot be opened for writing: nothing may run.
    #[error("the journal cannot record, so nothing runs: {0}")]
    Journal(#[from] crate::journal::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
