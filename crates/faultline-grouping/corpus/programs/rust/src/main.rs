// shift-point
//! Records the shop's bugs as corpus events: `shop-corpus DEPLOY SEED`.
//!
//! Each (bug, entry point) case runs in a child process
//! (`shop-corpus child BUG ENTRY SEED`) with `RUST_BACKTRACE=1`; the panic
//! message and backtrace it prints on stderr become the event's stack trace.

mod accounts;
mod api;
mod catalog;
mod cli;
mod customers;
mod inventory;
mod jobs;
mod model;
mod orders;
mod payments;
mod settings;
mod shipping;

use std::collections::HashMap;
use std::process::{exit, Command};

use model::{Customer, Order, Shop};

const ALL: &[&str] = &["api.create", "api.update", "job.sync", "cli.import"];
const WITH_BODY: &[&str] = &["api.create", "api.update", "cli.import"];
const PLACING: &[&str] = &["api.create", "job.sync", "cli.import"];

/// bug id, entry points that reach it.
const BUGS: &[(&str, &[&str])] = &[
    ("order-qty-parse", WITH_BODY),
    ("settings-parse", ALL),
    ("items-parse", ALL),
    ("qty-invalid", ALL),
    ("email-invalid", ALL),
    ("customer-missing", ALL),
    ("inventory-unknown-sku", ALL),
    ("category-cycle", PLACING),
    ("payment-gateway", ALL),
    ("ship-date", PLACING),
];

/// A small seeded generator (FNV-1a seed, xorshift steps).
struct Rng(u64);

impl Rng {
    fn new(text: &str) -> Rng {
        Rng(text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)))
    }

    fn int(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + self.0 % (hi - lo + 1)
    }
}

struct Case {
    shop: Shop,
    order: Order,
    settings: String,
}

fn new_case(bug: &str, entry: &str, seed: &str) -> Case {
    // shift-point
    let mut r = Rng::new(&format!("{seed}/{bug}/{entry}"));
    let customer = format!("cus_{}", r.int(10, 99));
    let shop = Shop {
        customers: HashMap::from([(customer.clone(), Customer { email: format!("{customer}@example.com") })]),
        stock: HashMap::from([("SKU-1".to_string(), 100), ("SKU-2".to_string(), 5)]),
        categories: HashMap::from([
            ("shoes".to_string(), "apparel".to_string()),
            ("loop-a".to_string(), "loop-b".to_string()),
            ("loop-b".to_string(), "loop-a".to_string()),
        ]),
    };
    let id = format!("{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}", r.int(0, 1 << 32), r.int(0, 1 << 16), r.int(0, 4095), r.int(0, 4095), r.int(0, 1 << 48));
    let mut order: Order = [
        ("id", id),
        ("qty", r.int(1, 4).to_string()),
        ("email", format!("{customer}@example.com")),
        ("customer", customer.clone()),
        ("sku", format!("SKU-{}", r.int(1, 2))),
        ("category", "shoes".to_string()),
        ("amount", r.int(5, 500).to_string()),
        ("card", "tok_test_visa".to_string()),
        ("ship", format!("2024-05-0{}", r.int(1, 9))),
        ("items", format!("SKU-1:{}", r.int(1, 3))),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let mut settings = format!("pageSize={};tenant={}", r.int(10, 99), r.int(1, 9));
    let mut set = |k: &str, v: String| order.insert(k.to_string(), v);
    match bug {
        "order-qty-parse" => set("qty", format!("{}x", r.int(1, 9))),
        "settings-parse" => Some(settings = format!("pageSize={}", ["fifty", "50.5", "-3"][r.int(0, 2) as usize])).map(|_| String::new()),
        "items-parse" => set("items", format!("SKU-{}:{} pcs", r.int(1, 2), r.int(1, 5))),
        "qty-invalid" => set("qty", format!("-{}", r.int(1, 50))),
        "email-invalid" => set("email", format!("user{}.at.example.com", r.int(1, 999))),
        "customer-missing" => set("customer", format!("cus_{}", r.int(1000, 9999))),
        "inventory-unknown-sku" => set("sku", format!("SKU-{}-X", r.int(100, 999))),
        "category-cycle" => set("category", ["loop-a", "loop-b"][r.int(0, 1) as usize].to_string()),
        "payment-gateway" => set("card", format!("tok_live_{:012x}", r.int(0, 1 << 48))),
        _ => set("ship", format!("{}/{}", r.int(20, 26), r.int(1, 9))),
    };
    Case { shop, order, settings }
}

fn run(entry: &str, case: &mut Case) -> bool {
    // shift-point
    let body: String = case.order.iter().map(|(k, v)| format!("{k}={v};")).collect();
    let body = body.trim_end_matches(';');
    let request = api::Request { settings_header: &case.settings, body };
    match entry {
        "api.create" => api::handle_create_order(&mut case.shop, &request) > 0,
        "api.update" => api::handle_update_order(&mut case.shop, &request) > 0,
        "job.sync" => jobs::nightly_sync(&mut case.shop, &case.settings, &[case.order.clone()]),
        _ => {
            cli::import_command(&mut case.shop, &["shop", "import", &case.settings, body]);
            true
        }
    }
}

fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The panic message: the line after `thread '…' panicked at file:line:col:`.
fn panic_message(stderr: &str) -> String {
    let mut lines = stderr.lines().skip_while(|l| !l.contains(" panicked at "));
    lines.next();
    lines.take_while(|l| *l != "stack backtrace:").collect::<Vec<_>>().join("\n")
}

fn main() {
    // shift-point
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 5 && args[1] == "child" {
        let mut case = new_case(&args[2], &args[3], &args[4]);
        let ok = run(&args[3], &mut case);
        exit(if ok { 0 } else { 101 });
    }
    let (deploy, seed) = (&args[1], &args[2]);
    let me = std::env::current_exe().expect("own path");
    for (bug, entries) in BUGS {
        for entry in *entries {
            let output = Command::new(&me)
                .args(["child", bug, entry, seed])
                .env("RUST_BACKTRACE", "1")
                .output()
                .expect("run child");
            assert!(!output.status.success(), "{bug} via {entry} did not panic");
            let stderr = String::from_utf8_lossy(&output.stderr);
            println!(
                "{{\"label\":{},\"language\":\"rust\",\"type\":\"panic\",\"message\":{},\"stacktrace\":{},\"service\":\"corpus-rust\",\"entry\":{},\"deploy\":{}}}",
                json_string(&format!("rust/{bug}")),
                json_string(&panic_message(&stderr)),
                json_string(&stderr),
                json_string(entry),
                json_string(deploy),
            );
        }
    }
}
