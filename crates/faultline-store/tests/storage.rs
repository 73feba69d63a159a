//! Storage against a real sled database and tantivy index on disk: what
//! only an on-disk engine does (surviving a reopen). What every engine
//! must do alike is in the conformance suite (`tests/conformance/`).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use faultline_store::{HealthBatch, SearchRequest, Storage, StorageOptions};

// The conformance suite's builders, so both test files make the same events.
#[path = "conformance/support.rs"]
#[allow(dead_code)]
mod support;

use faultline_model::ErrorEvent;
use support::{event, grouping};

fn options() -> StorageOptions {
    StorageOptions { queue_depth: 16, index_commit_interval: Duration::from_millis(50), ..Default::default() }
}

#[test]
fn commits_groups_searches_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let now = 1_700_000_000_000_000_000;
    {
        let storage = Storage::open(dir.path(), options()).unwrap();
        let batch = vec![
            (event("api", "KeyError", "missing key 'a'", now), grouping("fa")),
            (event("api", "KeyError", "missing key 'b'", now + 1), grouping("fa")),
            (event("api", "shop.orders.ValueError", "bad value", now + 2), grouping("fb")),
        ];
        let committed = storage.submit(batch, HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
        assert_eq!(committed.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert!(committed[0].new_group && !committed[1].new_group && committed[2].new_group);
        assert_eq!(committed[0].group_id, committed[1].group_id);

        let g = storage.group(committed[0].group_id).unwrap().unwrap();
        assert_eq!((g.count, g.first_seen, g.last_seen), (2, now, now + 1));
        assert_eq!(g.environments, vec!["prod".to_string()]);
        assert!(storage.wait_indexed(Duration::from_secs(10)));
        let req = |q: &str| SearchRequest { query: q.into(), limit: 10, ..Default::default() };
        assert_eq!(storage.search(&req("missing")).unwrap().0.total, 2);
        assert_eq!(
            storage.search(&req("type:ValueError")).unwrap().0.total,
            1,
            "short name of a qualified type"
        );
        assert_eq!(storage.search(&req("type:shop.orders.ValueError")).unwrap().0.total, 1);
        assert_eq!(storage.search(&req("user.id:u-42 AND service.name:api")).unwrap().0.total, 3);
        assert_eq!(storage.search(&req("http.status_code:500")).unwrap().0.total, 3);
        assert!(storage.search(&req("type:(")).is_err());
        assert_eq!(
            storage.search(&req("-type:KeyError")).unwrap().0.total,
            1,
            "a pure exclusion means everything except"
        );
        // Kill-like drop: no shutdown beyond Drop.
    }
    let storage = Storage::open(dir.path(), options()).unwrap();
    let more = storage
        .submit(vec![(event("api", "KeyError", "x", now + 5), grouping("fa"))], HealthBatch::new())
        .unwrap();
    let c = more.blocking_recv().unwrap().unwrap();
    assert_eq!((c[0].seq, c[0].group_id, c[0].new_group), (4, 1, false));
    assert!(storage.wait_indexed(Duration::from_secs(10)));
    let page =
        storage.search(&SearchRequest { query: String::new(), limit: 2, ..Default::default() }).unwrap().0;
    assert_eq!(page.total, 4);
    assert_eq!(page.hits.iter().map(|h| h.seq).collect::<Vec<_>>(), vec![4, 3]);
    let next = storage
        .search(&SearchRequest {
            query: String::new(),
            limit: 2,
            before_seq: page.next_cursor,
            ..Default::default()
        })
        .unwrap()
        .0;
    assert_eq!(next.hits.iter().map(|h| h.seq).collect::<Vec<_>>(), vec![2, 1]);
    assert_eq!(next.next_cursor, None);
}

#[test]
fn groups_keep_the_latest_raw_message_through_reopen_merge_and_unmerge() {
    let dir = tempfile::tempdir().unwrap();
    let now = 1_700_000_000_000_000_000;
    let (a, b) = {
        let storage = Storage::open(dir.path(), options()).unwrap();
        let submit = |e: ErrorEvent, fp: &str| {
            let reply = storage.submit(vec![(e, grouping(fp))], HealthBatch::new()).unwrap();
            reply.blocking_recv().unwrap().unwrap()[0].group_id
        };
        let a = submit(event("api", "CartError", "cart 17 is locked", now), "fa");
        assert_eq!(storage.group(a).unwrap().unwrap().last_message.as_deref(), Some("cart 17 is locked"));
        submit(event("api", "CartError", "\n  cart 18 is locked  \nretry later", now - 9), "fa");
        let b = submit(event("api", "CartError", "cart 19 is stuck", now - 20), "fb");
        let group = storage.group(a).unwrap().unwrap();
        assert_eq!(group.title, "title fa", "the title is the grouping's, not the message");
        assert_eq!(
            group.last_message.as_deref(),
            Some("cart 18 is locked"),
            "the latest committed event's first line, even when it happened earlier"
        );
        (a, b)
    };
    let storage = Storage::open(dir.path(), options()).unwrap();
    assert_eq!(storage.group(a).unwrap().unwrap().last_message.as_deref(), Some("cart 18 is locked"));

    let merged = storage.merge(a, vec![b]).unwrap().blocking_recv().unwrap().unwrap();
    assert_eq!(merged.last_message.as_deref(), Some("cart 19 is stuck"), "b's event came last");
    let (kept, split) = storage.unmerge(a, vec!["fb".into()]).unwrap().blocking_recv().unwrap().unwrap();
    assert_eq!(kept.last_message.as_deref(), Some("cart 18 is locked"));
    assert_eq!(split.last_message.as_deref(), Some("cart 19 is stuck"));

    let long = "x".repeat(5000);
    let reply = storage.submit(vec![(event("api", "E", &long, now), grouping("fl"))], HealthBatch::new());
    let id = reply.unwrap().blocking_recv().unwrap().unwrap()[0].group_id;
    let cut = storage.group(id).unwrap().unwrap().last_message.unwrap();
    assert_eq!(cut.chars().count(), faultline_model::LAST_MESSAGE_CHARS);
    assert!(cut.ends_with('…'));
    let reply = storage.submit(
        vec![(ErrorEvent { message: None, ..event("api", "E", "", now) }, grouping("fl"))],
        HealthBatch::new(),
    );
    reply.unwrap().blocking_recv().unwrap().unwrap();
    assert_eq!(storage.group(id).unwrap().unwrap().last_message, None, "the latest event had none");
}

/// An excluded phrase that matches no document (`-"py py"`) made tantivy
/// 0.27's phrase scorer seek backwards, which its `debug_assert!` rejected
/// (tantivy issue #2811): debug builds panicked. The workspace builds tantivy
/// without debug assertions; this checks the answer is the right one, not
/// merely that nothing panics.
#[test]
fn an_excluded_phrase_matching_nothing_excludes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path(), options()).unwrap();
    let now = 1_700_000_000_000_000_000;
    let traced = |message: &str, ts: i64| {
        let mut e = event("api", "KeyError", message, ts);
        e.stacktrace = Some(format!(
            "Traceback (most recent call last):\n  File \"app/main.py\", line 3, in run\n  File \"app/db.py\", line 9, in get\nKeyError: {message}"
        ));
        e
    };
    let batch = vec![
        (traced("missing key py", now), grouping("fa")),
        (traced("py timeout", now + 1), grouping("fa")),
        (event("api", "ValueError", "bad value", now + 2), grouping("fb")),
    ];
    storage.submit(batch, HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
    assert!(storage.wait_indexed(Duration::from_secs(10)));
    let seqs = |q: &str| {
        let page =
            storage.search(&SearchRequest { query: q.into(), limit: 10, ..Default::default() }).unwrap().0;
        let mut seqs: Vec<u64> = page.hits.iter().map(|h| h.seq).collect();
        seqs.sort();
        (page.total, seqs)
    };
    // Both words are indexed, never next to each other: the phrase matches
    // nothing, so excluding it keeps every event.
    assert_eq!(seqs("\"py py\""), (0, vec![]));
    assert_eq!(seqs("-\"py py\""), (3, vec![1, 2, 3]));
    // The fuzzer's input (`-py` and `py` joined by replacement characters,
    // one phrase once tokenized), read as the API decodes it.
    let fuzzed = String::from_utf8_lossy(b"-py\xff\xff\xff\xffpy\xff\xff\xff\xff\x04").into_owned();
    assert_eq!(seqs(&fuzzed), (3, vec![1, 2, 3]));
    // An excluded phrase that does match still excludes its events.
    assert_eq!(seqs("-\"missing key\""), (2, vec![2, 3]));
    assert_eq!(seqs("-\"app db\" "), (1, vec![3]));
}
