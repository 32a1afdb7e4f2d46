//! What the commands print for people (`--json` prints the reports as they are).

use std::path::Path;

use adarchive::ingest::ImportReport;
use adarchive::search::SearchResponse;

pub(crate) fn print_page(page: &SearchResponse) {
    println!("{}", counted(page.total, "ad", "ads"));
    for hit in &page.results {
        let ad = &hit.ad;
        let who = ad.advertiser.name.as_deref().unwrap_or("?");
        let when = ad.first_shown.map(|t| t.to_string()).unwrap_or_default();
        let spend: Vec<String> = ad
            .spend
            .iter()
            .map(|s| match s.upper {
                Some(u) if u == s.lower => format!("{} {}", s.currency, s.lower),
                Some(u) => format!("{} {}–{}", s.currency, s.lower, u),
                None => format!("{} {}+", s.currency, s.lower),
            })
            .collect();
        println!("{}  {who}  {when}  {}", ad.uid, spend.join(", "));
        for s in &hit.snippets {
            println!("    {}: {}", s.field, s.fragment.replace('\n', " "));
        }
    }
    for (name, values) in &page.facets {
        let list: Vec<String> = values
            .iter()
            .map(|v| format!("{} {}", v.value, v.count))
            .collect();
        println!("{name}: {}", list.join(", "));
    }
    if let Some(c) = &page.next_cursor {
        println!("next page: --cursor {c}");
    }
}

pub(crate) fn print_entity(entity: &adarchive::advertisers::Entity) {
    println!(
        "{} {} [{}]{}",
        entity.id,
        entity.name,
        entity.platforms.join(", "),
        if entity.name_only_links {
            " (some links are names only)"
        } else {
            ""
        }
    );
    for m in &entity.members {
        let ids: Vec<String> = m
            .identifiers
            .iter()
            .map(|i| format!("{} {}", i.kind, i.value))
            .collect();
        println!("  {} {}", m.key, ids.join(", "));
    }
    for l in &entity.links {
        println!("  {} = {}: {} {}", l.from, l.to, l.evidence, l.value);
    }
}

pub(crate) fn print_audit(audit: &adarchive::spend::SpendAudit) {
    let name = |n: &Option<String>| n.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
    println!(
        "{} — {}, by {}, ordered by {}",
        audit.origin,
        counted(audit.total_ads, "ad", "ads"),
        audit.group_by,
        audit.ordered_by
    );
    for g in &audit.groups {
        println!(
            "{}{}: {}",
            g.key,
            name(&g.name),
            counted(g.ads, "ad", "ads")
        );
        for s in &g.spend {
            let upper = s
                .upper
                .map(|u| u.to_string())
                .unwrap_or_else(|| format!("unbounded ({} open-ended)", s.open_ended_ads));
            println!("  {} {} – {}", s.currency, s.lower, upper);
        }
    }
    let r = &audit.reports;
    println!(
        "\n{} — kind {}, {} ({} left out as superseded by a later import of the same report), ordered by {}",
        r.origin,
        r.kind,
        counted(r.rows, "row", "rows"),
        r.superseded_rows,
        r.ordered_by
    );
    for g in &r.groups {
        println!(
            "{}{}: {}",
            g.key,
            name(&g.name),
            counted(g.rows, "row", "rows")
        );
        for s in &g.spend {
            println!("  {} {} – {}", s.currency, s.lower, s.upper);
        }
        for report in &g.reports {
            println!("  from {} ({})", report.name, report.period);
        }
    }
    let c = &audit.conversion;
    println!("\nconversion: {}", c.note);
    for (label, groups) in [("ads", &c.ads), ("reports", &c.reports)] {
        for g in groups {
            for f in &g.figures {
                println!(
                    "  {label} {}: {} {} – {} (from {}, rate {:.6} of {})",
                    g.key,
                    c.currency.as_deref().unwrap_or(""),
                    f.lower,
                    f.upper
                        .map(|u| u.to_string())
                        .unwrap_or_else(|| "unbounded".into()),
                    f.from_currency,
                    f.rate,
                    f.rate_date.as_offset_date_time().date()
                );
            }
        }
    }
}

/// `1 row`, `2 rows`.
pub(crate) fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub(crate) fn print_import(data: &Path, report: &ImportReport) {
    for f in &report.files {
        if let Some(error) = &f.error {
            println!("{}: error: {error}", f.path);
            continue;
        }
        let format = f.format.as_deref().unwrap_or("?");
        if f.counts.rate_rows > 0 && f.counts.records == 0 {
            println!(
                "{}: {format}, {} days of exchange rates, {} quarantined",
                f.path, f.counts.rate_rows, f.counts.quarantined
            );
        } else if f.counts.report_rows > 0 && f.counts.records == 0 {
            println!(
                "{}: {format}, {} spend report rows, {} quarantined",
                f.path, f.counts.report_rows, f.counts.quarantined
            );
        } else {
            println!(
                "{}: {format}, {} records ({} new, {} updated, {} unchanged), {} quarantined",
                f.path,
                f.counts.records,
                f.counts.new,
                f.counts.updated,
                f.counts.unchanged,
                f.counts.quarantined
            );
        }
        if let Some(listing) = &f.listing {
            println!("  {}", listing_line(listing));
        }
        if f.redacted_tokens > 0 {
            println!(
                "  {} access tokens redacted from the stored copy (original blake3 {})",
                f.redacted_tokens,
                f.original_blake3.as_deref().unwrap_or("?")
            );
        }
        if f.counts.unnormalized > 0 {
            println!(
                "  {} could not be normalized and {} kept verbatim in `unmapped`:",
                counted(f.counts.unnormalized, "value", "values"),
                if f.counts.unnormalized == 1 {
                    "is"
                } else {
                    "are"
                }
            );
            for v in &f.unnormalized_values {
                println!(
                    "    line {}, field {}: \"{}\"",
                    v.line,
                    v.field.escape_debug(),
                    v.value.escape_debug()
                );
            }
            let listed = f.unnormalized_values.len() as u64;
            if f.counts.unnormalized > listed {
                println!("    … {} more", f.counts.unnormalized - listed);
            }
        }
        for p in &f.problems {
            match &p.field {
                Some(field) => println!("  line {}, field {field}: {}", p.line, p.reason),
                None => println!("  line {}: {}", p.line, p.reason),
            }
        }
        if f.counts.quarantined > f.problems.len() as u64 {
            println!(
                "  … {} more",
                f.counts.quarantined - f.problems.len() as u64
            );
        }
        if f.counts.quarantined > 0 {
            if let Some(hash) = &f.blake3 {
                println!(
                    "  quarantined rows: {}",
                    adarchive::archive::quarantine_path_in(data, hash).display()
                );
            }
        }
        for s in &f.skipped {
            println!("  skipped {}: {}", s.name, s.reason);
        }
        for w in &f.warnings {
            println!("  warning: {w}");
        }
    }
    let t = report.totals;
    println!(
        "total: {} records ({} new, {} updated, {} unchanged), {} spend report rows, {} quarantined",
        t.records, t.new, t.updated, t.unchanged, t.report_rows, t.quarantined
    );
}

pub(crate) fn print_verify(report: &adarchive::check::VerifyReport) {
    for m in &report.mismatches {
        println!("MISMATCH {m}");
    }
    if report.index_behind > 0 {
        println!(
            "note: the search index lacks the last {} imported sources (an interrupted import); the next import or `adarchive rebuild` adds them",
            report.index_behind
        );
    }
    for s in &report.unreferenced_sources {
        println!("note: sources/{s} has no manifest entry: its import did not finish, and nothing refers to it. It can be deleted; importing the file again stores it anew if the import succeeds");
    }
    println!(
        "verified {} sources, {} observations, {} report rows, {} records, {} versions, {} indexed ads, {} listings with {} changes, {} log entries: {}",
        report.sources,
        report.observations,
        report.report_rows,
        report.records,
        report.versions,
        report.indexed,
        report.listings,
        report.changes,
        report.log_entries,
        if report.ok() {
            "OK".to_owned()
        } else {
            format!("{} mismatches", report.mismatches.len())
        }
    );
}

pub(crate) fn print_rebuild(report: &adarchive::check::RebuildReport) {
    for f in &report.failures {
        println!("FAILED {f}");
    }
    println!(
        "rebuilt {} sources, {} observations, {} indexed ads; {} record hashes differ from before",
        report.sources, report.observations, report.indexed, report.changed_record_hashes
    );
}

pub(crate) fn print_entity_detail(detail: &adarchive::advertisers::EntityDetail) {
    print_entity(&detail.entity);
    for (origin, totals) in [
        (&detail.ads.origin, &detail.ads.by_platform),
        (&detail.reports.origin, &detail.reports.by_platform),
    ] {
        println!("{origin}");
        for t in totals {
            let upper = t
                .upper
                .map(|u| u.to_string())
                .unwrap_or_else(|| "unbounded".into());
            println!("  {} {} {} – {upper}", t.platform, t.currency, t.lower);
        }
    }
}

pub(crate) fn print_log_verify(report: &adarchive::tlog::LogReport) {
    for problem in &report.problems {
        println!("PROBLEM {problem}");
    }
    let verdict = if report.ok() {
        "OK".to_owned()
    } else {
        counted(report.problems.len() as u64, "problem", "problems")
    };
    if report.size == 0 && report.checkpoints == 0 {
        println!("the log is empty: nothing has been archived yet: {verdict}");
        return;
    }
    let since = report
        .consistent_since
        .map(|n| {
            format!(
                ", consistent with the saved checkpoint of {}",
                counted(n, "entry", "entries")
            )
        })
        .unwrap_or_default();
    println!(
        "log {}: {}, {} and {} checked{since}: {verdict}",
        report.origin,
        counted(report.size, "entry", "entries"),
        counted(report.checkpoints, "checkpoint", "checkpoints"),
        counted(report.tiles, "tile", "tiles"),
    );
}

/// One listing in words: "snap:2024 listing 2: 5,803 ads; 61 vanished, 7 new".
pub(crate) fn listing_line(listing: &adarchive::archive::Listing) -> String {
    use adarchive::archive::ChangeKind;
    let mut line = format!(
        "{} listing {}: {} listed",
        listing.scope.escape_debug(),
        listing.number,
        counted(listing.ads, "ad", "ads")
    );
    if listing.number == 1 {
        line.push_str(" (the scope's first listing: nothing to compare with)");
        return line;
    }
    let said: Vec<String> = ChangeKind::ALL
        .iter()
        .filter(|kind| listing.count(**kind) > 0)
        .map(|kind| {
            format!(
                "{} {}",
                listing.count(*kind),
                kind.as_str().replace('_', " ")
            )
        })
        .collect();
    if said.is_empty() {
        line.push_str(", nothing changed since the one before");
    } else {
        line.push_str(&format!("; {}", said.join(", ")));
    }
    line
}

pub(crate) fn print_scopes(scopes: &[adarchive::changes::Scope]) {
    if scopes.is_empty() {
        println!("no complete listing archived yet");
    }
    for scope in scopes {
        println!(
            "{}: {}",
            scope.scope.escape_debug(),
            counted(scope.listings.len() as u64, "listing", "listings")
        );
        for listing in &scope.listings {
            println!("  {}  {}", listing.archived_at, listing_line(listing));
        }
    }
}

pub(crate) fn print_changes(page: &adarchive::changes::ChangesPage) {
    if page.changes.is_empty() {
        println!("no changes");
    }
    for change in &page.changes {
        println!(
            "{}  {}  {}  {} listing {}",
            change.archived_at,
            change.kind.as_str(),
            change.uid.escape_debug(),
            change.scope.escape_debug(),
            change.listing
        );
        if let Some(serde_json::Value::Array(ops)) = &change.patch {
            for op in ops {
                let path = op.get("path").and_then(|p| p.as_str()).unwrap_or("");
                let kind = op.get("op").and_then(|p| p.as_str()).unwrap_or("");
                println!("    {kind} {}", path.escape_debug());
            }
        }
    }
    if let Some(c) = &page.next_cursor {
        println!("next page: --cursor {c}");
    }
}

/// Bytes for people: 1.06 GiB, 834.06 MiB, 12 B.
pub(crate) fn bytes_in_words(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}

pub(crate) fn print_stats(
    counts: &adarchive::archive::Stats,
    files: &serde_json::Value,
    tables: &[adarchive::archive::TableSize],
) {
    println!(
        "{} sources, {} ads in {} versions, {} distinct records, {} observations",
        counts.sources, counts.ads, counts.versions, counts.records, counts.observations
    );
    for part in ["database", "index", "sources", "quarantine"] {
        let bytes = files[part].as_u64().unwrap_or(0);
        let on_disk = files["on_disk"][part].as_u64().unwrap_or(bytes);
        // A file with holes: say what it takes on disk too.
        if on_disk < bytes - bytes / 100 {
            println!(
                "{part:>10}  {} ({} on disk)",
                bytes_in_words(bytes),
                bytes_in_words(on_disk)
            );
        } else {
            println!("{part:>10}  {}", bytes_in_words(bytes));
        }
    }
    println!();
    println!(
        "{:<24} {:>12} {:>12} {:>12} {:>12} {:>12}",
        "table", "entries", "stored", "tree", "free", "in all"
    );
    for t in tables {
        println!(
            "{:<24} {:>12} {:>12} {:>12} {:>12} {:>12}",
            t.name,
            t.entries,
            bytes_in_words(t.stored_bytes),
            bytes_in_words(t.metadata_bytes),
            bytes_in_words(t.fragmented_bytes),
            bytes_in_words(t.total_bytes())
        );
    }
}
