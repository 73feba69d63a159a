// shift-point
use crate::model::Shop;

pub fn category_path(shop: &Shop, name: &str, depth: usize) -> Vec<String> {
    // shift-point
    // A stack overflow aborts without a backtrace; a cycle is caught by depth.
    assert!(depth < 48, "category tree too deep at {name:?}");
    match shop.categories.get(name) {
        None => vec![name.to_string()],
        Some(parent) => {
            // shift-point
            let mut path = category_path(shop, parent, depth + 1);
            path.push(name.to_string());
            path
        }
    }
}
