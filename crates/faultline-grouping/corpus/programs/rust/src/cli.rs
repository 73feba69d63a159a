// shift-point
//! A command-line entry point: `shop import SETTINGS ORDER`.

use crate::model::Shop;
use crate::{orders, settings};

pub fn import_command(shop: &mut Shop, argv: &[&str]) {
    // shift-point
    settings::read_settings(argv[2]);
    // shift-point
    let order = orders::parse_order_payload(argv[3]);
    // shift-point
    orders::place_order(shop, &order);
}
