//! A tiny HTTP server whose answer a test switches: the target of the
//! active-check tests (up with 200, down with 503 and so on).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

/// Answers every request with `status` and the body "ok".
pub struct Web {
    pub port: u16,
    pub status: Arc<AtomicU16>,
}

impl Web {
    pub fn start() -> Web {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
        let port = listener.local_addr().expect("its address").port();
        let status = Arc::new(AtomicU16::new(200));
        let answer = status.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut buf = [0u8; 2048];
                let _ = stream.read(&mut buf);
                let code = answer.load(Ordering::SeqCst);
                let reply = format!("HTTP/1.1 {code} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        Web { port, status }
    }
}
