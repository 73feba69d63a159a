// shift-point
//! The order service: what every entry point goes through.

use crate::model::{field, Order, Shop};
use crate::{accounts, catalog, customers, inventory, payments, shipping};

pub fn parse_order_payload(raw: &str) -> Order {
    // shift-point
    let order: Order =
        raw.split(';').filter_map(|p| p.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    // shift-point
    order["qty"].parse::<i64>().unwrap();
    order
}

/// Line items arrive as `sku:qty,sku:qty` inside the order (a form field).
pub fn parse_line_items(order: &Order) -> Vec<(String, i64)> {
    // shift-point
    field(order, "items")
        .split(',')
        .map(|item| item.split_once(':').unwrap_or((item, "")))
        // shift-point
        .map(|(sku, qty)| (sku.to_string(), qty.parse::<i64>().unwrap()))
        .collect()
}

pub fn check_quantity(order_id: &str, qty: i64) -> u32 {
    // shift-point
    if qty <= 0 {
        // shift-point
        panic!("quantity must be positive for order {order_id}, got {qty}");
    }
    qty as u32
}

fn quantity(order: &Order) -> i64 {
    field(order, "qty").parse().unwrap_or(0)
}

pub fn place_order(shop: &mut Shop, order: &Order) -> (u32, u32, u32) {
    // shift-point
    let qty = check_quantity(field(order, "id"), quantity(order));
    parse_line_items(order);
    accounts::check_email(field(order, "email"));
    let email = customers::load_customer(shop, field(order, "customer"));
    // shift-point
    inventory::reserve(shop, field(order, "sku"), qty);
    catalog::category_path(shop, field(order, "category"), 0);
    // shift-point
    payments::charge(&email, field(order, "amount").parse().unwrap_or(0), field(order, "card"));
    shipping::parse_ship_date(field(order, "ship"))
}

pub fn amend_order(shop: &mut Shop, order: &Order) -> &'static str {
    // shift-point
    let email = customers::load_customer(shop, field(order, "customer"));
    accounts::check_email(field(order, "email"));
    // shift-point
    let qty = check_quantity(field(order, "id"), quantity(order));
    parse_line_items(order);
    inventory::reserve(shop, field(order, "sku"), qty);
    // shift-point
    payments::charge(&email, field(order, "amount").parse().unwrap_or(0), field(order, "card"))
}
