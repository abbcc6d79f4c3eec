//! Watching the start of an SSH connection, so a peer that accepts and never
//! speaks fails at the banner timeout, a peer that speaks and then stalls
//! fails at the connect timeout with what it said, and neither leaves a
//! socket behind: the watched stream errors out once the attempt is given up.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// RFC 4253 §4.2: the identification line is at most 255 bytes; lines before
/// it are allowed. Only this many bytes of a line are kept for the message.
const MAX_LINE: usize = 255;

/// How far the connection got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Stage {
    Connecting,
    /// TCP (or the jump channel) is open; waiting for the server's `SSH-` line.
    Connected,
    /// The identification line arrived; key exchange and host key follow.
    Identified,
}

/// Shared between the watched stream and the code that waits on it.
#[derive(Clone)]
pub(super) struct Watch {
    stage: watch::Sender<Stage>,
    /// The server's identification line, sanitized, for error messages.
    banner: Arc<Mutex<String>>,
    /// Fired when the attempt is given up: the stream fails its next read.
    abandon: CancellationToken,
}

impl Watch {
    pub fn new() -> Self {
        Self {
            stage: watch::Sender::new(Stage::Connecting),
            banner: Arc::default(),
            abandon: CancellationToken::new(),
        }
    }

    pub fn connected(&self) {
        self.stage.send_replace(Stage::Connected);
    }

    pub fn stage(&self) -> Stage {
        *self.stage.borrow()
    }

    pub fn banner(&self) -> String {
        self.banner.lock().map(|b| b.clone()).unwrap_or_default()
    }

    /// Ends the attempt: the stream's reader (russh's session task) gets an
    /// error, so the socket is closed rather than left to a silent peer.
    pub fn abandon(&self) {
        self.abandon.cancel();
    }

    /// Resolves once the connection has been open for `limit` without an
    /// identification line; never when the line arrives in time.
    pub async fn banner_overdue(&self, limit: std::time::Duration) {
        let mut rx = self.stage.subscribe();
        // Booleans, not the borrow guards: nothing is held across an await.
        let connected = rx.wait_for(|s| *s >= Stage::Connected).await.is_ok();
        let identified = connected
            && tokio::time::timeout(limit, rx.wait_for(|s| *s == Stage::Identified))
                .await
                .is_ok();
        if !connected || identified {
            std::future::pending::<()>().await;
        }
    }

    pub fn wrap<S>(&self, inner: S) -> Watched<S> {
        Watched {
            inner,
            watch: self.clone(),
            line: Vec::new(),
            abandoned: Box::pin(self.abandon.clone().cancelled_owned()),
        }
    }
}

/// A stream that reports the server's identification line to its [`Watch`].
pub(super) struct Watched<S> {
    inner: S,
    watch: Watch,
    line: Vec<u8>,
    abandoned: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl<S> Watched<S> {
    fn scan(&mut self, bytes: &[u8]) {
        if self.watch.stage() == Stage::Identified {
            return;
        }
        for &b in bytes {
            if b != b'\n' {
                if self.line.len() < MAX_LINE {
                    self.line.push(b);
                }
                continue;
            }
            if self.line.starts_with(b"SSH-") {
                let text = crate::protocol::sanitize::sanitize_bytes(
                    self.line.strip_suffix(b"\r").unwrap_or(&self.line),
                );
                if let Ok(mut banner) = self.watch.banner.lock() {
                    *banner = text;
                }
                self.watch.stage.send_replace(Stage::Identified);
                return;
            }
            self.line.clear();
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.abandoned.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the connection attempt was given up",
            )));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            self.scan(&buf.filled()[before..]);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identification_line_is_found_after_other_lines() {
        let watch = Watch::new();
        let mut watched = watch.wrap(tokio::io::empty());
        watched.scan(b"hello there\r\nSSH-2.0-Open");
        assert_eq!(watch.stage(), Stage::Connecting);
        watched.scan(b"SSH_9.6\x1b[2J\r\n\0\0binary");
        assert_eq!(watch.stage(), Stage::Identified);
        assert_eq!(
            watch.banner(),
            "SSH-2.0-OpenSSH_9.6",
            "escape sequences removed"
        );
    }
}
