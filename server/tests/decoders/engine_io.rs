//! The EIO3 gate reads the Engine.IO version as the engine does: the first `EIO=` pair of the
//! query, cut at the next `=`.

use proptest::{collection::vec, prelude::*, sample::select};
use server::front::engine_io_version;

/// The reading the gate must make, written plainly.
fn model(query: &str) -> Option<&str> {
    for pair in query.split('&') {
        if let Some(value) = pair.strip_prefix("EIO=") {
            return Some(value.split('=').next().unwrap_or(value));
        }
    }
    None
}

/// Query pairs a client or an attacker may send.
fn pair() -> impl Strategy<Value = String> {
    let fixed = select(vec![
        "EIO=3",
        "EIO=3=1",
        "EIO=3=",
        "EIO=3=x",
        "EIO=4",
        "EIO=",
        "EIO",
        "EIO==3",
        "EIO=33",
        "EIO= 3",
        "EIO=3 ",
        "eio=3",
        "EIO3",
        "xEIO=3",
        " EIO=3",
        "EIO%3D3",
        "EIO=%33",
        "",
        "transport=polling",
        "transport=websocket",
        "t=Nx1a2b",
        "b64=1",
        "sid=",
    ]);
    prop_oneof![
        4 => fixed.prop_map(str::to_owned),
        2 => "[A-Za-z0-9_-]{1,12}".prop_map(|sid| format!("sid={sid}")),
        2 => "[ -~]{0,12}".prop_map(|v| format!("EIO={v}")),
        2 => "[ -~]{0,16}",
        1 => any::<String>(),
    ]
}

proptest! {
    #![proptest_config(crate::cases(1024))]

    #[test]
    fn version_is_the_first_eio_pair_cut_at_the_next_equals(pairs in vec(pair(), 0..6)) {
        let query = pairs.join("&");
        prop_assert_eq!(engine_io_version(&query), model(&query), "query {:?}", query);
    }

    #[test]
    fn a_first_eio3_pair_reads_as_3(
        before in vec(pair().prop_filter("no EIO= pair", |p| !p.starts_with("EIO=")), 0..3),
        eio3 in select(vec!["EIO=3", "EIO=3=1", "EIO=3=", "EIO=3=x", "EIO=3=4"]),
        after in vec(pair(), 0..3),
    ) {
        let query = before.iter().map(String::as_str).chain([eio3]).chain(after.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("&");
        prop_assert_eq!(engine_io_version(&query), Some("3"), "query {:?}", query);
    }
}
