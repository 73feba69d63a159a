//! Envelopes, the body of `POST /api/{project_id}/envelope/`:
//!
//! ```text
//! {"event_id":"...","sent_at":"...","dsn":"..."}      envelope headers
//! {"type":"event","length":4758}                      item headers
//! {...4758 bytes of payload...}
//! {"type":"attachment","length":12,"filename":"a.txt"}
//! ...
//! ```
//!
//! Each item's payload is `length` bytes when the header gives one, else
//! up to the next newline. Only an empty body or unreadable envelope
//! headers refuse the envelope. An item whose headers cannot be read is
//! set aside and reading resumes at the next line that reads as item
//! headers; a length running past the body loses that item and whatever
//! follows (it cannot be framed), never the items before it. A payload
//! that is not valid JSON only loses its own item ([`Envelope::events`]).

use serde_json::{Map, Value};

/// Why an envelope (or store body) could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("empty envelope")]
    Empty,
    #[error("envelope headers are not a JSON object: {0}")]
    Headers(String),
    #[error("item {index}: headers are not a JSON object with a \"type\": {reason}")]
    ItemHeaders { index: usize, reason: String },
    #[error("item {index}: length {length} runs past the end of the envelope")]
    Truncated { index: usize, length: u64 },
    #[error("the event is not a JSON object: {0}")]
    Event(String),
}

/// The item types Faultline knows; anything else is [`ItemKind::Other`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemKind {
    /// An error or message event: becomes an error event.
    Event,
    /// A performance transaction: one request for API health.
    Transaction,
    /// Release health, one session or aggregates (acknowledged, dropped).
    Session,
    Sessions,
    /// A file attached to an event (acknowledged, not stored).
    Attachment,
    /// The SDK's count of events it dropped (acknowledged, dropped).
    ClientReport,
    /// Profiles, replays, check-ins, logs, spans...: acknowledged, dropped.
    Other(String),
}

impl ItemKind {
    fn parse(name: &str) -> ItemKind {
        match name {
            "event" => ItemKind::Event,
            "transaction" => ItemKind::Transaction,
            "session" => ItemKind::Session,
            "sessions" => ItemKind::Sessions,
            "attachment" => ItemKind::Attachment,
            "client_report" => ItemKind::ClientReport,
            other => ItemKind::Other(other.to_string()),
        }
    }

    /// The type as the envelope named it.
    pub fn as_str(&self) -> &str {
        match self {
            ItemKind::Event => "event",
            ItemKind::Transaction => "transaction",
            ItemKind::Session => "session",
            ItemKind::Sessions => "sessions",
            ItemKind::Attachment => "attachment",
            ItemKind::ClientReport => "client_report",
            ItemKind::Other(name) => name,
        }
    }
}

/// One item: its type and its payload bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub kind: ItemKind,
    pub payload: Vec<u8>,
}

/// A parsed envelope.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Envelope {
    /// The envelope's `event_id` header, what the SDK expects back.
    pub event_id: Option<String>,
    pub items: Vec<Item>,
    /// Items that could not be framed, set aside with why.
    pub invalid: Vec<EnvelopeError>,
}

impl Envelope {
    /// The `event` items' payloads as JSON objects, each `Err` on its own
    /// when it is not one (the other items are unaffected).
    pub fn events(&self) -> Vec<Result<Map<String, Value>, EnvelopeError>> {
        self.items
            .iter()
            .filter(|item| item.kind == ItemKind::Event)
            .map(|item| event_object(&item.payload))
            .collect()
    }

    /// The `transaction` items' payloads as JSON objects, each `Err` on
    /// its own when it is not one.
    pub fn transactions(&self) -> Vec<Result<Map<String, Value>, EnvelopeError>> {
        self.items
            .iter()
            .filter(|item| item.kind == ItemKind::Transaction)
            .map(|item| event_object(&item.payload))
            .collect()
    }

    /// The id to answer with: the envelope's `event_id` header, else the
    /// `event_id` of its first event that has one.
    pub fn answer_id(&self) -> Option<String> {
        self.event_id.clone().or_else(|| {
            self.events().into_iter().flatten().find_map(|e| e.get("event_id")?.as_str().map(str::to_string))
        })
    }

    /// Why nothing of the envelope can be used: it has no items (Relay
    /// refuses those too), or each was set aside or is an event or
    /// transaction whose payload is no JSON object. `None` when one can.
    pub fn unusable(&self) -> Option<EnvelopeError> {
        if self.items.is_empty() && self.invalid.is_empty() {
            return Some(EnvelopeError::Empty);
        }
        let mut first_bad = self.invalid.first().cloned();
        for item in &self.items {
            if !matches!(item.kind, ItemKind::Event | ItemKind::Transaction) || is_object(&item.payload) {
                return None;
            }
            if first_bad.is_none() {
                first_bad = event_object(&item.payload).err();
            }
        }
        first_bad
    }

    /// Items that are neither events nor transactions, by type name: what
    /// was acknowledged and dropped.
    pub fn dropped(&self) -> impl Iterator<Item = &str> {
        self.items
            .iter()
            .filter(|item| !matches!(item.kind, ItemKind::Event | ItemKind::Transaction))
            .map(|item| item.kind.as_str())
    }
}

/// Reads an envelope body (already decompressed). Only an empty body or
/// unreadable envelope headers refuse the envelope: an item that cannot
/// be framed (headers that are no JSON object or name no `type`, a
/// `length` running past the body) is set aside in
/// [`Envelope::invalid`] and the items around it are kept, so one bad item
/// never costs the others.
pub fn parse_envelope(body: &[u8]) -> Result<Envelope, EnvelopeError> {
    let (header_line, mut rest) = split_line(body);
    if header_line.iter().all(u8::is_ascii_whitespace) && rest.iter().all(u8::is_ascii_whitespace) {
        return Err(EnvelopeError::Empty);
    }
    let headers = object(header_line).map_err(EnvelopeError::Headers)?;
    let event_id = headers.get("event_id").and_then(Value::as_str).map(str::to_string);
    let mut envelope = Envelope { event_id, ..Envelope::default() };
    while !rest.iter().all(u8::is_ascii_whitespace) {
        let index = envelope.items.len() + envelope.invalid.len();
        let (line, after) = split_line(rest);
        rest = match read_item(index, line, after) {
            Framed::Item(item, next) => {
                envelope.items.push(item);
                next
            }
            Framed::Skipped(error, next) => {
                envelope.invalid.push(error);
                next
            }
            Framed::Lost(error) => {
                envelope.invalid.push(error);
                break;
            }
        };
    }
    Ok(envelope)
}

/// One item read from its header line (`line`) and what follows it.
enum Framed<'a> {
    /// Read; the rest of the body after it.
    Item(Item, &'a [u8]),
    /// Unusable but framed (or skipped to the next item header).
    Skipped(EnvelopeError, &'a [u8]),
    /// Unusable, and nothing after it can be framed.
    Lost(EnvelopeError),
}

fn read_item<'a>(index: usize, line: &[u8], after: &'a [u8]) -> Framed<'a> {
    let headers = match object(line) {
        Ok(headers) => headers,
        // No length to go by: the payload is taken to end at the next
        // line that reads as item headers.
        Err(reason) => return Framed::Skipped(EnvelopeError::ItemHeaders { index, reason }, resync(after)),
    };
    let (payload, next) = match headers.get("length") {
        None => split_line(after),
        Some(length) => match length.as_u64() {
            Some(length) => match usize::try_from(length).ok().filter(|end| *end <= after.len()) {
                Some(end) => {
                    let (payload, next) = after.split_at(end);
                    (payload, next.strip_prefix(b"\n").unwrap_or(next))
                }
                None => return Framed::Lost(EnvelopeError::Truncated { index, length }),
            },
            None => {
                let reason = format!("\"length\" is {length}, not a byte count");
                return Framed::Skipped(EnvelopeError::ItemHeaders { index, reason }, resync(after));
            }
        },
    };
    match headers.get("type").and_then(Value::as_str) {
        Some(name) => Framed::Item(Item { kind: ItemKind::parse(name), payload: payload.to_vec() }, next),
        None => Framed::Skipped(EnvelopeError::ItemHeaders { index, reason: "no \"type\"".into() }, next),
    }
}

/// The body from the first line that reads as item headers: a JSON object
/// with a string `type` and no `event_id` (event and transaction
/// payloads, which may have a `type` too, always carry an `event_id`).
fn resync(mut rest: &[u8]) -> &[u8] {
    while !rest.is_empty() {
        let (line, after) = split_line(rest);
        let header = object(line)
            .ok()
            .filter(|h| h.get("type").is_some_and(Value::is_string) && !h.contains_key("event_id"));
        if header.is_some() {
            return rest;
        }
        rest = after;
    }
    rest
}

/// Reads a `/store/` body: one event as a JSON object, made an envelope
/// of one `event` item so both endpoints share the rest of the way.
pub fn parse_store(body: &[u8]) -> Result<Envelope, EnvelopeError> {
    let event = event_object(body)?;
    let event_id = event.get("event_id").and_then(Value::as_str).map(str::to_string);
    let items = vec![Item { kind: ItemKind::Event, payload: body.to_vec() }];
    Ok(Envelope { event_id, items, invalid: Vec::new() })
}

/// Whether `payload` is a JSON object, without building it (skipping
/// values does not check their UTF-8, hence the check first).
fn is_object(payload: &[u8]) -> bool {
    payload.trim_ascii_start().first() == Some(&b'{')
        && std::str::from_utf8(payload).is_ok()
        && serde_json::from_slice::<serde::de::IgnoredAny>(payload).is_ok()
}

fn event_object(payload: &[u8]) -> Result<Map<String, Value>, EnvelopeError> {
    object(payload).map_err(EnvelopeError::Event)
}

/// The first line (without its `\n` or `\r\n`) and what follows it.
fn split_line(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.iter().position(|b| *b == b'\n') {
        Some(at) => {
            let (line, rest) = bytes.split_at(at);
            (line.strip_suffix(b"\r").unwrap_or(line), rest.get(1..).unwrap_or_default())
        }
        None => (bytes, &[]),
    }
}

fn object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(format!("found {}", kind_of(&other))),
        Err(e) => Err(e.to_string()),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const CHAINED: &[u8] = include_bytes!("../tests/fixtures/python_chained.envelope");

    #[test]
    fn reads_a_real_sentry_python_envelope() {
        let envelope = parse_envelope(CHAINED).unwrap();
        assert_eq!(envelope.event_id.as_deref(), Some("38354266fba942e9b33b1d9dc60dde07"));
        assert_eq!(envelope.items.len(), 1);
        let events = envelope.events();
        let event = events[0].as_ref().unwrap();
        assert_eq!(event["event_id"], "38354266fba942e9b33b1d9dc60dde07");
        assert_eq!(event["platform"], "python");
    }

    #[test]
    fn items_without_length_and_other_types_are_kept_apart() {
        let body = b"{\"event_id\":\"ab\"}\n\
{\"type\":\"client_report\"}\n{\"discarded_events\":[]}\n\
{\"type\":\"attachment\",\"length\":3,\"filename\":\"a.txt\"}\nx\ny\n\
{\"type\":\"event\"}\nnot json\n\
{\"type\":\"replay_video\",\"length\":0}\n\n\
{\"type\":\"event\",\"length\":9}\n{\"a\":\"b\"}";
        let envelope = parse_envelope(body).unwrap();
        let kinds: Vec<&str> = envelope.items.iter().map(|i| i.kind.as_str()).collect();
        assert_eq!(kinds, ["client_report", "attachment", "event", "replay_video", "event"]);
        assert_eq!(envelope.items[1].payload, b"x\ny");
        assert_eq!(envelope.dropped().collect::<Vec<_>>(), ["client_report", "attachment", "replay_video"]);
        let events = envelope.events();
        assert!(matches!(events[0], Err(EnvelopeError::Event(_))), "a bad payload loses only its item");
        assert_eq!(events[1].as_ref().unwrap()["a"], "b");
        assert_eq!(envelope.answer_id().as_deref(), Some("ab"));
        let headless = parse_envelope(b"{}\n{\"type\":\"event\"}\n{\"event_id\":\"cd\"}\n").unwrap();
        assert_eq!(
            headless.answer_id().as_deref(),
            Some("cd"),
            "the event's own id when the header has none"
        );
    }

    #[test]
    fn only_unreadable_envelope_headers_refuse_the_envelope() {
        assert_eq!(parse_envelope(b""), Err(EnvelopeError::Empty));
        assert_eq!(parse_envelope(b" \n\n"), Err(EnvelopeError::Empty));
        assert!(matches!(parse_envelope(b"nope\n"), Err(EnvelopeError::Headers(_))));
        assert!(matches!(parse_envelope(b"\n{\"type\":\"event\"}\n{}"), Err(EnvelopeError::Headers(_))));
        assert_eq!(parse_envelope(b"{}\n").unwrap(), Envelope::default());
    }

    fn kinds(envelope: &Envelope) -> Vec<&str> {
        envelope.items.iter().map(|i| i.kind.as_str()).collect()
    }

    #[test]
    fn an_unframed_item_is_set_aside_and_the_others_kept() {
        // Headers that are no JSON: skipped to the next item headers, past
        // a payload that has a "type" but, as events do, an event_id.
        let body = b"{}\n{\"type\":\"event\"}\n{\"event_id\":\"a\"}\n\
{\"type\":\"event\",\"length\":\n{\"event_id\":\"b\",\"type\":\"transaction\"}\nmore\n\
{\"type\":\"event\"}\n{\"event_id\":\"c\"}\n";
        let envelope = parse_envelope(body).unwrap();
        assert_eq!(kinds(&envelope), ["event", "event"]);
        assert_eq!(envelope.items[1].payload, b"{\"event_id\":\"c\"}");
        assert!(matches!(envelope.invalid[..], [EnvelopeError::ItemHeaders { index: 1, .. }]));
        // No type: framed by its length (or line) and skipped.
        let body = b"{}\n{\"length\":3}\n{\n}\n{\"type\":7}\n{}\n{\"type\":\"event\",\"length\":2}\n{}";
        let envelope = parse_envelope(body).unwrap();
        assert_eq!(kinds(&envelope), ["event"]);
        assert_eq!(envelope.invalid.len(), 2);
        assert!(envelope.invalid[0].to_string().contains("no \"type\""), "{:?}", envelope.invalid);
        // A length that is no byte count.
        let body = b"{}\n{\"type\":\"event\",\"length\":-1}\nx\n{\"type\":\"event\"}\n{}\n";
        let envelope = parse_envelope(body).unwrap();
        assert_eq!(kinds(&envelope), ["event"]);
        assert!(envelope.invalid[0].to_string().contains("not a byte count"), "{:?}", envelope.invalid);
    }

    #[test]
    fn an_envelope_is_unusable_only_when_no_item_is_usable() {
        let unusable = |body: &[u8]| parse_envelope(body).unwrap().unusable();
        assert_eq!(unusable(b"{\"event_id\":\"a\"}\n"), Some(EnvelopeError::Empty), "no items");
        assert_eq!(unusable(b"{}\n{\"type\":\"event\"}\n{}\n"), None);
        assert_eq!(unusable(b"{}\n{\"type\":\"profile\"}\n\xff\n"), None, "acknowledged as is");
        assert_eq!(unusable(b"{}\n{\"type\":\"event\"}\nnope\n{\"type\":\"event\"}\n{}\n"), None);
        let bad_json = unusable(b"{}\n{\"type\":\"event\"}\n{\"a\":\n{\"type\":\"transaction\"}\n[]\n");
        assert!(matches!(bad_json, Some(EnvelopeError::Event(_))), "{bad_json:?}");
        let utf8 = unusable(b"{}\n{\"type\":\"event\"}\n{\"message\":\"\xff\"}\n");
        assert!(matches!(utf8, Some(EnvelopeError::Event(_))), "{utf8:?}");
        let unframed = unusable(b"{}\n{\"type\":\"event\",\"length\":9}\n{}\n");
        assert_eq!(unframed, Some(EnvelopeError::Truncated { index: 0, length: 9 }));
    }

    #[test]
    fn a_length_past_the_body_loses_only_what_follows() {
        let body = b"{}\n{\"type\":\"event\",\"length\":2}\n{}\n{\"type\":\"event\",\"length\":99}\n{}\n";
        let envelope = parse_envelope(body).unwrap();
        assert_eq!(kinds(&envelope), ["event"]);
        assert_eq!(envelope.invalid, [EnvelopeError::Truncated { index: 1, length: 99 }]);
    }

    #[test]
    fn store_bodies_are_one_event() {
        let envelope = parse_store(br#"{"event_id":"cd","message":"hi"}"#).unwrap();
        assert_eq!(envelope.event_id.as_deref(), Some("cd"));
        assert_eq!(envelope.items.len(), 1);
        assert!(matches!(parse_store(b"[]"), Err(EnvelopeError::Event(_))));
    }
}
