// shift-point
use crate::model::Shop;

pub fn load_customer(shop: &Shop, customer_id: &str) -> String {
    // shift-point
    let email = shop.customers[customer_id].email.clone();
    // shift-point
    email
}
