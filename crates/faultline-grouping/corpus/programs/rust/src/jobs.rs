// shift-point
//! A background job: nightly order sync, each row on a worker thread.

use std::thread;

use crate::model::{Order, Shop};
use crate::{orders, settings};

fn sync_row(shop: &mut Shop, row: &Order) {
    // shift-point
    orders::place_order(shop, row);
}

/// Returns false when a worker panicked (the panic hook already reported it).
pub fn nightly_sync(shop: &mut Shop, config: &str, rows: &[Order]) -> bool {
    // shift-point
    settings::read_settings(config);
    thread::scope(|scope| {
        let worker = thread::Builder::new()
            .name("sync-worker".into())
            // shift-point
            .spawn_scoped(scope, || rows.iter().for_each(|row| sync_row(shop, row)))
            .expect("spawn sync worker");
        worker.join().is_ok()
    })
}
