//! The search box: query text through the store's search path (group
//! terms expanded, aliases rewritten, tantivy's parser) against a small
//! in-memory store, as the API and the explorer run it.

use std::sync::LazyLock;
use std::time::Duration;

use faultline_grouping::Grouper;
use faultline_model::{ErrorEvent, EventSource};
use faultline_store::{HealthBatch, SearchRequest, Storage, StorageOptions};

/// A few events so queries reach real postings, group ids and fingerprints;
/// one store per process, as a server has, since opening one starts threads.
static STORE: LazyLock<Storage> = LazyLock::new(|| {
    let storage = Storage::in_memory(StorageOptions {
        index_commit_interval: Duration::from_millis(10),
        ..Default::default()
    })
    .expect("an in-memory store opens");
    let grouper = Grouper::new();
    let batch = seed_events().into_iter().map(|e| {
        let grouping = grouper.group(&e);
        (e, grouping)
    });
    let ack = storage.submit(batch.collect(), HealthBatch::new()).expect("the seed export is queued");
    ack.blocking_recv().expect("the committer answers").expect("the seed export commits");
    assert!(storage.wait_indexed(Duration::from_secs(30)), "the seed events get indexed");
    storage
});

fn seed_events() -> Vec<ErrorEvent> {
    let mut events = Vec::new();
    for (i, (service, kind, message)) in [
        ("checkout", "KeyError", "missing key 'user_id'"),
        ("checkout", "ConnectionError", "connection to db timed out after 30s"),
        ("api", "java.lang.IllegalStateException", "order 42 already shipped"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut event =
            ErrorEvent::blank(service, EventSource::SpanException, 1_700_000_000_000_000_000 + i as i64);
        event.exception_type = Some(kind.to_string());
        event.message = Some(message.to_string());
        event.environment = Some("prod".to_string());
        event.http_route = Some("/orders/{id}".to_string());
        event.http_status = Some(500);
        event.stacktrace = Some(format!(
            "Traceback (most recent call last):\n  File \"app/main.py\", line 3, in run\n{kind}: {message}"
        ));
        events.push(event);
    }
    events
}

/// The bytes as query text (lossily UTF-8, as a decoded URL parameter is),
/// checked, searched and matched to groups.
pub fn search_query(data: &[u8]) {
    let query = String::from_utf8_lossy(data).into_owned();
    let store = &*STORE;
    if store.validate_query(&query).is_err() {
        return;
    }
    drop(store.search(&SearchRequest { query: query.clone(), limit: 10, ..Default::default() }));
    drop(store.groups_matching(&query, 10));
}
