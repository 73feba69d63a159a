// shift-point
use std::io::{self, Write};
use std::net::TcpStream;

// Nothing listens on the discard port here, so live charges are refused.
const GATEWAY: &str = "127.0.0.1:9";

fn call_gateway(token: &str, amount: u32) -> io::Result<()> {
    // shift-point
    let mut conn = TcpStream::connect(GATEWAY)?;
    write!(conn, "{token}:{amount}")
}

pub fn charge(email: &str, amount: u32, card: &str) -> &'static str {
    // shift-point
    if card.starts_with("tok_test") {
        return "ch_test";
    }
    // shift-point
    call_gateway(card, amount).expect("payment gateway refused the charge");
    let _ = email;
    "ch_live"
}
