//! Hostile peers (the slow-peer fault): a node that connects to the engine over raw TCP and
//! then trickles a frame a byte at a time, or sends calls and never reads the replies, or
//! holds many half-open connections. The engine must go on serving everyone else and close
//! what passes its limits (`endure_server::tcp::limits`).

use std::time::Duration;

use endure_core::protocol::Request;
use endure_core::wire::{ClientFrame, MAGIC, PROTOCOL_VERSION, encode_frame};
use madsim::rand::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::cluster::Cluster;
use crate::faults::FaultKind;

/// What a slow peer does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlowPeer {
    /// Sends the first bytes of a frame, then one byte a second, for `seconds`.
    Trickle {
        /// How long it trickles.
        seconds: u64,
    },
    /// Sends `calls` calls and never reads a reply, holding the connection `seconds`.
    Unread {
        /// Calls sent.
        calls: u64,
        /// How long it holds on.
        seconds: u64,
    },
    /// Opens `connections` connections that send nothing, holding them `seconds`.
    Silent {
        /// Connections opened.
        connections: u64,
        /// How long it holds on.
        seconds: u64,
    },
}

impl SlowPeer {
    /// A random one: trickling past the frame arrival timeout sometimes.
    pub fn random(rng: &mut impl Rng) -> Self {
        match rng.gen_range(0..3) {
            0 => Self::Trickle {
                seconds: rng.gen_range(5..45),
            },
            1 => Self::Unread {
                calls: rng.gen_range(50..400),
                seconds: rng.gen_range(5..45),
            },
            _ => Self::Silent {
                connections: rng.gen_range(5..60),
                seconds: rng.gen_range(5..90),
            },
        }
    }
}

/// Starts a slow peer on a node of its own (it runs on while the scenario goes on) and logs
/// the fault.
pub fn slow_peer(cluster: &Cluster, behaviour: SlowPeer) {
    cluster
        .faults
        .record(FaultKind::SlowPeer, format!("{behaviour:?}"));
    let address = cluster.engine_address();
    let name = format!("slow-peer-{}", cluster.faults.count(FaultKind::SlowPeer));
    cluster.add_client_node(&name).spawn(async move {
        // The engine may be down or restarting: a peer that cannot connect gives up.
        let _ = run(&address, behaviour).await;
    });
}

async fn hello(address: &str) -> std::io::Result<TcpStream> {
    let mut stream = TcpStream::connect(address).await?;
    let hello = encode_frame(
        &ClientFrame::Hello {
            magic: MAGIC,
            version: PROTOCOL_VERSION,
        },
        1 << 20,
    )
    .map_err(std::io::Error::other)?;
    stream.write_all(&hello).await?;
    stream.flush().await?;
    Ok(stream)
}

async fn run(address: &str, behaviour: SlowPeer) -> std::io::Result<()> {
    match behaviour {
        SlowPeer::Trickle { seconds } => {
            let mut stream = hello(address).await?;
            let mut bytes = 4096u32.to_be_bytes().to_vec();
            bytes.resize(4 + 4096, 0);
            for byte in bytes.iter().take(usize::try_from(seconds).unwrap_or(0) + 4) {
                stream.write_all(&[*byte]).await?;
                stream.flush().await?;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        SlowPeer::Unread { calls, seconds } => {
            let mut stream = hello(address).await?;
            for id in 0..calls {
                let call = encode_frame(
                    &ClientFrame::Call {
                        id,
                        timeout: None,
                        request: Box::new(Request::ListNamespaces(
                            endure_core::protocol::ListNamespacesRequest,
                        )),
                    },
                    1 << 20,
                )
                .map_err(std::io::Error::other)?;
                stream.write_all(&call).await?;
            }
            stream.flush().await?;
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            // Reads at last: the engine answered or closed, either is fine.
            let mut sink = [0u8; 1024];
            let _ = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut sink)).await;
        }
        SlowPeer::Silent {
            connections,
            seconds,
        } => {
            let mut held = Vec::new();
            for _ in 0..connections {
                held.push(TcpStream::connect(address).await?);
            }
            tokio::time::sleep(Duration::from_secs(seconds)).await;
        }
    }
    Ok(())
}
