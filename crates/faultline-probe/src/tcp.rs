//! TCP checks: success is an accepted connection, nothing is sent.

use tokio::net::TcpStream;

use crate::address::split_host_port;
use crate::config::TcpProbe;
use crate::error::RunError;
use crate::run::Outcome;

pub(crate) async fn probe(probe: &TcpProbe) -> Outcome {
    match connect(&probe.address).await {
        Ok(_stream) => Outcome::default(),
        Err(error) => Outcome::failed(error.to_string()),
    }
}

/// Resolves and connects to `host:port`, describing failures in words.
/// Shared with the TLS check. Resolution happens at every run so that a DNS
/// change is followed.
pub(crate) async fn connect(address: &str) -> Result<TcpStream, RunError> {
    let (host, port) = split_host_port(address)?;
    TcpStream::connect((host, port)).await.map_err(RunError::Io)
}
