//! Bytes per key kind in a stopped server's data directory, to tell the
//! records' own size from sled's file overhead:
//! `cargo run --release -p faultline-store --example store_sizes -- DATA_DIR`.

use std::collections::BTreeMap;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: store_sizes DATA_DIR")?;
    let store = std::path::Path::new(&dir).join("store");
    let db = sled::Config::new().path(&store).open()?;
    // kind byte -> (keys, key bytes, value bytes)
    let mut kinds: BTreeMap<u8, (u64, u64, u64)> = BTreeMap::new();
    for entry in db.iter() {
        let (key, value) = entry?;
        let kind = kinds.entry(key.first().copied().unwrap_or(0)).or_default();
        kind.0 += 1;
        kind.1 += key.len() as u64;
        kind.2 += value.len() as u64;
    }
    let mut total = 0;
    println!("kind      keys   key bytes  value bytes");
    for (kind, (n, k, v)) in &kinds {
        println!("{:>4} {:>9} {:>11} {:>12}", char::from(*kind), n, k, v);
        total += k + v;
    }
    println!("logical bytes (keys + values): {total}");
    println!("sled size_on_disk: {}", db.size_on_disk()?);
    Ok(())
}
