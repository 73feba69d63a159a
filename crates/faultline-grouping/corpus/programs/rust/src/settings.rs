// shift-point
use std::collections::HashMap;

pub fn read_settings(raw: &str) -> HashMap<String, u32> {
    // shift-point
    let mut settings = HashMap::new();
    for pair in raw.split(';') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        // shift-point
        settings.insert(key.to_string(), value.parse::<u32>().unwrap());
    }
    settings
}
