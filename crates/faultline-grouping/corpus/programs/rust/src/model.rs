// shift-point
//! The application's state and the order every entry point handles.

use std::collections::HashMap;

pub struct Customer {
    pub email: String,
}

pub struct Shop {
    pub customers: HashMap<String, Customer>,
    pub stock: HashMap<String, u32>,
    pub categories: HashMap<String, String>,
}

/// Orders travel as `key=value;key=value` text.
pub type Order = HashMap<String, String>;

pub fn field<'a>(order: &'a Order, name: &str) -> &'a str {
    order.get(name).map(String::as_str).unwrap_or_default()
}
