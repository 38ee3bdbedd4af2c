//! Bad bytes on the shared port: a connection that opens with HTTP/2's preface and then
//! sends nonsense is closed, and the port goes on serving both protocols.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::Fixture;

#[tokio::test(flavor = "multi_thread")]
async fn nonsense_after_the_http2_preface_closes_only_that_connection() {
    let fixture = Fixture::start().await;
    for nonsense in [
        &b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\xff\xff\xff\xff\xff\xff\xff\xff\xff"[..],
        b"PRI but not HTTP/2 at all",
        b"PRI",
    ] {
        let mut stream = tokio::net::TcpStream::connect(fixture.address)
            .await
            .unwrap();
        stream.write_all(nonsense).await.unwrap();
        stream.shutdown().await.unwrap();
        // The server answers (an HTTP/2 GOAWAY, or nothing) and closes the connection.
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
            .await
            .expect("the server closed the connection")
            .unwrap_or_default();
    }
    // Endure's own protocol still works on the port.
    let health = fixture.native_client().health().await.unwrap();
    assert!(health.is_serving(), "{health:?}");
}
