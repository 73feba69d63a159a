// shift-point
//! HTTP-handler-like entry points.

use crate::model::Shop;
use crate::{orders, settings};

pub struct Request<'a> {
    pub settings_header: &'a str,
    pub body: &'a str,
}

fn tenant_settings(request: &Request<'_>) {
    // shift-point
    settings::read_settings(request.settings_header);
}

pub fn handle_create_order(shop: &mut Shop, request: &Request<'_>) -> u16 {
    // shift-point
    tenant_settings(request);
    let order = orders::parse_order_payload(request.body);
    // shift-point
    orders::place_order(shop, &order);
    201
}

pub fn handle_update_order(shop: &mut Shop, request: &Request<'_>) -> u16 {
    // shift-point
    tenant_settings(request);
    // shift-point
    let patch = orders::parse_order_payload(request.body);
    orders::amend_order(shop, &patch);
    200
}
