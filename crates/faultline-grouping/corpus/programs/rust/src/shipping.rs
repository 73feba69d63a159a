// shift-point
pub fn parse_ship_date(text: &str) -> (u32, u32, u32) {
    // shift-point
    let (year, rest) = (&text[..4], &text[5..]);
    // shift-point
    let (month, day) = rest.split_once('-').unwrap_or((rest, "1"));
    (year.parse().unwrap_or(0), month.parse().unwrap_or(0), day.parse().unwrap_or(0))
}
