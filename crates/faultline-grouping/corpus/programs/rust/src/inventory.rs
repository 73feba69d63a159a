// shift-point
use std::fmt;

use crate::model::Shop;

#[derive(Debug)]
pub struct UnknownSku(String);

impl fmt::Display for UnknownSku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no stock record for {}", self.0)
    }
}

fn level(shop: &Shop, sku: &str) -> Result<u32, UnknownSku> {
    shop.stock.get(sku).copied().ok_or_else(|| UnknownSku(sku.to_string()))
}

pub fn reserve(shop: &mut Shop, sku: &str, qty: u32) -> u32 {
    // shift-point
    let available = level(shop, sku).unwrap_or_else(|cause| {
        // shift-point
        panic!("cannot reserve {qty} x {sku}: {cause}")
    });
    shop.stock.insert(sku.to_string(), available - qty);
    available - qty
}
