//! A delay line for the fan-out benchmark: one TCP relay per farm host on
//! 127.0.0.1 that holds every chunk for half the round-trip time in each
//! direction, so loopback behaves like a network with that RTT. On a real
//! fleet a connection costs round trips (TCP, banner, key exchange, service
//! request, authentication, channel), and pooling saves those; on bare
//! loopback only CPU shows.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Starts a relay to `to` on `rt`, returning its port on 127.0.0.1. It
/// lives as long as the runtime.
pub fn start(rt: &tokio::runtime::Runtime, to: SocketAddr, rtt: Duration) -> u16 {
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    rt.spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(to).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::join!(delay(cr, sw, rtt / 2), delay(sr, cw, rtt / 2));
            });
        }
    });
    port
}

/// Moves bytes from `from` to `to`, each chunk `by` after it arrived,
/// in order; reading never waits for writing.
async fn delay(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, by: Duration) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = from.read(&mut buf).await {
            if tx.send((Instant::now() + by, buf[..n].to_vec())).is_err() {
                break;
            }
        }
    };
    let writer = async move {
        while let Some((at, bytes)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}
