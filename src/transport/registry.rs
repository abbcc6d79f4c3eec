//! The transports a mediator may use, one per kind. A new transport is one
//! [`Transports::register`] line in [`Transports::standard`]; a target
//! whose kind has none fails with `Unavailable`, it is never rerouted.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::job::Transport;
use super::kind::TransportKind;
use super::{local, ssh, ssm};

/// The transports available to a mediator, by kind. Cheap to clone: the
/// transports (and their connection pools) are shared.
#[derive(Clone, Default)]
pub struct Transports {
    by_kind: BTreeMap<TransportKind, Arc<dyn Transport>>,
}

impl Transports {
    /// The local transport alone.
    pub fn local_only() -> Self {
        let mut transports = Self::default();
        transports.register(TransportKind::Local, Arc::new(local::Local::default()));
        transports
    }

    /// Local, SSH, and SSM with the environment's settings. The
    /// ssh_config's warnings come back for the operator. SSM reads no AWS
    /// configuration until an SSM target runs.
    pub fn standard(ssh: ssh::SshSettings) -> Result<(Self, Vec<String>), String> {
        let (ssh, warnings) = ssh::Ssh::new(ssh)?;
        let mut transports = Self::local_only();
        transports.register(TransportKind::Ssh, Arc::new(ssh));
        transports.register(
            TransportKind::Ssm,
            Arc::new(ssm::Ssm::new(ssm::SsmSettings::from_env())),
        );
        Ok((transports, warnings))
    }

    /// The same transports with SSM built from `settings` (still lazy).
    pub fn with_ssm(mut self, settings: ssm::SsmSettings) -> Self {
        self.register(TransportKind::Ssm, Arc::new(ssm::Ssm::new(settings)));
        self
    }

    /// Makes `transport` the one for `kind`, replacing any before it.
    pub fn register(&mut self, kind: TransportKind, transport: Arc<dyn Transport>) {
        self.by_kind.insert(kind, transport);
    }

    pub fn get(&self, kind: TransportKind) -> Option<Arc<dyn Transport>> {
        self.by_kind.get(&kind).cloned()
    }
}

#[cfg(test)]
mod tests {
    use futures::future::BoxFuture;
    use tokio::sync::mpsc;

    use super::*;
    use crate::transport::{Finished, Job, Progress, TransportError};

    /// A transport that only says who it is, through `paces_itself`.
    struct Marker(bool);

    impl Transport for Marker {
        fn exec(
            &self,
            _job: Job,
            _progress: mpsc::Sender<Progress>,
        ) -> BoxFuture<'_, Result<Finished, TransportError>> {
            Box::pin(async { Err(TransportError::Io("marker".into())) })
        }

        fn paces_itself(&self) -> bool {
            self.0
        }
    }

    #[test]
    fn local_only_has_local_alone() {
        let transports = Transports::local_only();
        assert!(transports.get(TransportKind::Local).is_some());
        assert!(transports.get(TransportKind::Ssh).is_none());
        assert!(transports.get(TransportKind::Ssm).is_none());
    }

    #[test]
    fn with_ssm_adds_a_transport_that_paces_itself() {
        let transports = Transports::local_only().with_ssm(ssm::SsmSettings::default());
        assert!(transports.get(TransportKind::Ssm).unwrap().paces_itself());
        assert!(!transports.get(TransportKind::Local).unwrap().paces_itself());
    }

    #[test]
    fn register_replaces_the_kind_and_clones_share() {
        let mut transports = Transports::default();
        transports.register(TransportKind::Ssh, Arc::new(Marker(false)));
        transports.register(TransportKind::Ssh, Arc::new(Marker(true)));
        let copy = transports.clone();
        assert!(copy.get(TransportKind::Ssh).unwrap().paces_itself());
        assert!(copy.get(TransportKind::Local).is_none());
    }
}
