//! The committed `schema/ad.schema.json` must be what the types generate.
//! Regenerate with `ADARCHIVE_BLESS=1 cargo test -p adarchive-schema`.

use std::path::Path;

#[test]
fn committed_json_schema_is_current() {
    let generated =
        serde_json::to_string_pretty(&adarchive_schema::ad_json_schema()).unwrap() + "\n";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ad.schema.json");
    if std::env::var_os("ADARCHIVE_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schema/ad.schema.json is stale: run `ADARCHIVE_BLESS=1 cargo test -p adarchive-schema` and commit it"
    );
}
