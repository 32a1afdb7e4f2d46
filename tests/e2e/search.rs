//! The search core against the real samples, with every expected number
//! computed independently from the raw files, and against generated exports
//! for the scripts the samples lack.

use std::collections::{BTreeMap, HashSet};

use crate::util::*;
use adarchive::archive::Archive;
use adarchive::generate::{generate_samples, GenerateOptions};
use adarchive::search::{search, Filters, SearchError, SearchRequest};
use adarchive::spend::{spend_totals, Grouping};
use time::macros::format_description;
use time::PrimitiveDateTime;

/// An ad as read straight from a raw sample file, for expected values.
#[derive(Debug, Default, Clone)]
struct RawAd {
    uid: String,
    platform: &'static str,
    countries: Vec<String>,
    spend: Vec<(String, u64, Option<u64>)>,
    active: bool,
    first: Option<i64>,
    last: Option<i64>,
    impressions: Option<(u64, Option<u64>)>,
    media: Option<String>,
    advertiser_id: Option<String>,
    advertiser_name: Option<String>,
    funder: Option<String>,
    languages: Vec<String>,
    genders: Vec<String>,
    ages: Vec<String>,
}

fn seconds(text: &str, fmt: &[time::format_description::BorrowedFormatItem<'_>]) -> i64 {
    PrimitiveDateTime::parse(text, fmt)
        .unwrap()
        .assume_utc()
        .unix_timestamp()
}

fn csv_rows(path: &str) -> Vec<BTreeMap<String, String>> {
    let bytes = std::fs::read(sample(path)).unwrap();
    csv::Reader::from_reader(&bytes[..])
        .deserialize()
        .map(|r| r.unwrap())
        .collect()
}

fn raw_ads() -> Vec<RawAd> {
    let mut ads = Vec::new();
    let google_time = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    for r in csv_rows(GOOGLE) {
        let mut ad = RawAd {
            uid: format!("google:{}", r["Ad_ID"]),
            platform: "google",
            active: false,
            first: Some(seconds(&r["First_Served_Timestamp"], google_time)),
            last: Some(seconds(&r["Last_Served_Timestamp"], google_time)),
            media: Some(r["Ad_Type"].to_lowercase()),
            advertiser_id: Some(r["Advertiser_ID"].clone()),
            advertiser_name: Some(r["Advertiser_Name"].clone()),
            funder: Some(r["Advertiser_Name"].clone()),
            ..RawAd::default()
        };
        ad.countries = r["Regions"]
            .split(", ")
            .filter(|c| *c != "EU")
            .map(str::to_owned)
            .collect();
        for (col, min) in &r {
            if let Some(cur) = col.strip_prefix("Spend_Range_Min_") {
                if !min.is_empty() {
                    let max = &r[&format!("Spend_Range_Max_{cur}")];
                    ad.spend
                        .push((cur.to_owned(), min.parse().unwrap(), max.parse().ok()));
                }
            }
        }
        ad.impressions = Some(match r["Impressions"].as_str() {
            "≤ 10k" => (0, Some(10_000)),
            "10k-100k" => (10_000, Some(100_000)),
            "100k-1M" => (100_000, Some(1_000_000)),
            other => panic!("{other}"),
        });
        if r["Gender_Targeting"] != "Not targeted" {
            ad.genders = r["Gender_Targeting"]
                .split(", ")
                .map(str::to_lowercase)
                .collect();
        }
        if r["Age_Targeting"] != "Not targeted" {
            ad.ages = r["Age_Targeting"].split(", ").map(str::to_owned).collect();
        }
        ads.push(ad);
    }
    let meta_time = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]+0000");
    let meta: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(sample(META_2019)).unwrap()).unwrap();
    let lejo: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sample(META_2021)).unwrap()).unwrap();
    for m in meta.iter().chain([&lejo]) {
        let url = m["ad_snapshot_url"].as_str().unwrap_or("");
        let id = m["_id"].as_str().map(str::to_owned).unwrap_or_else(|| {
            url.split("id=")
                .nth(1)
                .unwrap()
                .split('&')
                .next()
                .unwrap()
                .to_owned()
        });
        let time = |key: &str| {
            m[key].as_str().map(|t| {
                if t.len() == 10 {
                    seconds(&format!("{t}T00:00:00+0000"), meta_time)
                } else {
                    seconds(t, meta_time)
                }
            })
        };
        let bound = |v: &serde_json::Value| v.as_str().map(|s| s.parse::<u64>().unwrap());
        ads.push(RawAd {
            uid: format!("meta:{id}"),
            platform: "meta",
            spend: vec![(
                m["currency"].as_str().unwrap().to_owned(),
                bound(&m["spend"]["lower_bound"]).unwrap(),
                bound(&m["spend"]["upper_bound"]),
            )],
            active: m.get("ad_delivery_stop_time").is_none(),
            first: time("ad_delivery_start_time"),
            last: time("ad_delivery_stop_time"),
            impressions: Some((
                bound(&m["impressions"]["lower_bound"]).unwrap(),
                bound(&m["impressions"]["upper_bound"]),
            )),
            advertiser_id: m["page_id"].as_str().map(str::to_owned),
            advertiser_name: m["page_name"].as_str().map(str::to_owned),
            funder: m["funding_entity"]
                .as_str()
                .or(m["bylines"].as_str())
                .map(str::to_owned),
            languages: m["languages"]
                .as_array()
                .map(|l| l.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default(),
            ..RawAd::default()
        });
    }
    let snap_time = format_description!("[year]/[month]/[day] [hour]:[minute]:[second]Z");
    let snap_country = |name: &str| match name {
        "united states" => "US",
        "netherlands" => "NL",
        "united kingdom" => "GB",
        "germany" => "DE",
        _ => "other",
    };
    for path in SNAP {
        for r in csv_rows(path) {
            let exact = |col: &str| r[col].parse::<u64>().unwrap();
            ads.push(RawAd {
                uid: format!("snap:{}", r["ADID"]),
                platform: "snap",
                countries: if r["CountryCode"].is_empty() {
                    vec![]
                } else {
                    vec![snap_country(&r["CountryCode"]).to_owned()]
                },
                spend: vec![(
                    r["Currency Code"].clone(),
                    exact("Spend"),
                    Some(exact("Spend")),
                )],
                active: r["EndDate"].is_empty(),
                first: Some(seconds(&r["StartDate"], snap_time)),
                last: (!r["EndDate"].is_empty()).then(|| seconds(&r["EndDate"], snap_time)),
                impressions: Some((exact("Impressions"), Some(exact("Impressions")))),
                advertiser_name: Some(r["OrganizationName"].clone()),
                funder: Some(r["PayingAdvertiserName"].clone()).filter(|f| !f.is_empty()),
                languages: r["Language"]
                    .split(',')
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect(),
                genders: (!r["Gender"].is_empty())
                    .then(|| r["Gender"].to_lowercase())
                    .into_iter()
                    .collect(),
                ages: (!r["AgeBracket"].is_empty())
                    .then(|| r["AgeBracket"].clone())
                    .into_iter()
                    .collect(),
                ..RawAd::default()
            });
        }
    }
    ads
}

fn sample_archive() -> (tempfile::TempDir, Archive) {
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(dir.path()).unwrap();
    let report = import(&archive, &ad_samples());
    assert_eq!(report.totals.records, 2688);
    (dir, archive)
}

fn total(archive: &Archive, query: &str, filters: Filters) -> u64 {
    let request = SearchRequest {
        query: query.into(),
        filters,
        ..SearchRequest::default()
    };
    search(archive, &request).unwrap().total
}

fn count(raw: &[RawAd], f: impl Fn(&RawAd) -> bool) -> u64 {
    raw.iter().filter(|a| f(a)).count() as u64
}

#[test]
fn facets_and_every_filter_match_the_raw_files() {
    if crate::util::skip_without_samples() {
        return;
    }
    let (_dir, archive) = sample_archive();
    let raw = raw_ads();
    assert_eq!(raw.len(), 2688);
    assert_eq!(
        raw.iter().map(|a| &a.uid).collect::<HashSet<_>>().len(),
        2688
    );

    let request = SearchRequest {
        facets: vec![
            "platform".into(),
            "country".into(),
            "currency".into(),
            "media_type".into(),
        ],
        facet_limit: 100,
        ..SearchRequest::default()
    };
    let page = search(&archive, &request).unwrap();
    assert_eq!(page.total, 2688);
    let facet = |name: &str, value: &str| {
        page.facets[name]
            .iter()
            .find(|v| v.value == value)
            .map_or(0, |v| v.count)
    };
    for platform in ["google", "meta", "snap"] {
        assert_eq!(
            facet("platform", platform),
            count(&raw, |a| a.platform == platform),
            "{platform}"
        );
    }
    for country in ["US", "NL", "GB", "DE"] {
        assert_eq!(
            facet("country", country),
            count(&raw, |a| a.countries.iter().any(|c| c == country)),
            "{country}"
        );
    }
    for currency in ["USD", "EUR", "GBP", "NOK"] {
        assert_eq!(
            facet("currency", currency),
            count(&raw, |a| a.spend.iter().any(|s| s.0 == currency)),
            "{currency}"
        );
    }
    assert_eq!(
        facet("media_type", "video"),
        count(&raw, |a| a.media.as_deref() == Some("video"))
    );

    let f = Filters::default;
    let checks: Vec<(&str, Filters, u64)> = vec![
        (
            "platform",
            Filters {
                platform: vec!["snap".into()],
                ..f()
            },
            count(&raw, |a| a.platform == "snap"),
        ),
        (
            "country",
            Filters {
                country: vec!["nl".into()],
                ..f()
            },
            count(&raw, |a| a.countries.contains(&"NL".into())),
        ),
        (
            "two countries",
            Filters {
                country: vec!["NL".into(), "GB".into()],
                ..f()
            },
            count(&raw, |a| a.countries.iter().any(|c| c == "NL" || c == "GB")),
        ),
        (
            "region",
            Filters {
                region: vec!["EU".into()],
                ..f()
            },
            count(&raw, |a| a.platform == "google"),
        ),
        (
            "currency",
            Filters {
                currency: vec!["usd".into()],
                ..f()
            },
            count(&raw, |a| a.spend.iter().any(|s| s.0 == "USD")),
        ),
        (
            "language",
            Filters {
                language: vec!["en".into()],
                ..f()
            },
            count(&raw, |a| a.languages.contains(&"en".into())),
        ),
        (
            "media_type",
            Filters {
                media_type: vec!["video".into()],
                ..f()
            },
            334,
        ),
        (
            "advertiser_id",
            Filters {
                advertiser_id: vec!["AR148211418645135360".into()],
                ..f()
            },
            12,
        ),
        (
            "funder",
            Filters {
                funder: vec!["EPP - European People's Party".into()],
                ..f()
            },
            count(&raw, |a| {
                a.funder.as_deref() == Some("EPP - European People's Party")
            }),
        ),
        (
            "active",
            Filters {
                active: Some(true),
                ..f()
            },
            count(&raw, |a| a.active),
        ),
        (
            "ended",
            Filters {
                active: Some(false),
                ..f()
            },
            count(&raw, |a| !a.active),
        ),
        (
            "gender",
            Filters {
                gender: vec!["female".into()],
                ..f()
            },
            count(&raw, |a| a.genders.contains(&"female".into())),
        ),
        (
            "age",
            Filters {
                age: vec!["18-24".into()],
                ..f()
            },
            count(&raw, |a| a.ages.contains(&"18-24".into())),
        ),
        (
            "impressions_min",
            Filters {
                impressions_min: Some(10_000),
                ..f()
            },
            count(&raw, |a| a.impressions.is_some_and(|i| i.0 >= 10_000)),
        ),
        (
            "impressions_max",
            Filters {
                impressions_max: Some(9_999),
                ..f()
            },
            count(&raw, |a| {
                a.impressions
                    .is_some_and(|i| i.1.is_some_and(|u| u <= 9_999))
            }),
        ),
    ];
    for (name, filters, expected) in checks {
        assert!(expected > 0, "{name}: the check must select something");
        assert_eq!(total(&archive, "", filters), expected, "filter {name}");
    }

    // Shown-period overlap.
    let day = |d: &str| adarchive_importers::normalize::timestamp(d).unwrap();
    let (from, to) = (day("2020-09-20"), day("2020-09-25T23:59:59Z"));
    let expected = count(&raw, |a| {
        a.first.is_none_or(|s| s <= to.unix_seconds())
            && a.last.is_none_or(|e| e >= from.unix_seconds())
    });
    assert!(expected > 0);
    assert_eq!(
        total(
            &archive,
            "",
            Filters {
                from: Some(from),
                to: Some(to),
                ..f()
            }
        ),
        expected
    );

    // Spend within one currency: lower bound at least, upper bound at most.
    let eur = |a: &RawAd| a.spend.iter().find(|s| s.0 == "EUR").cloned();
    let expected = count(&raw, |a| eur(a).is_some_and(|s| s.1 >= 50));
    assert_eq!(
        total(
            &archive,
            "",
            Filters {
                currency: vec!["EUR".into()],
                spend_min: Some(50),
                ..f()
            }
        ),
        expected
    );
    let expected = count(&raw, |a| {
        eur(a).is_some_and(|s| s.2.is_some_and(|u| u <= 99))
    });
    assert_eq!(
        total(
            &archive,
            "",
            Filters {
                currency: vec!["EUR".into()],
                spend_max: Some(99),
                ..f()
            }
        ),
        expected
    );
    let err = search(
        &archive,
        &SearchRequest {
            filters: Filters {
                spend_min: Some(1),
                ..f()
            },
            ..SearchRequest::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            SearchError::BadParameter {
                param: "spend_min",
                ..
            }
        ),
        "{err}"
    );
}

/// Walks every page of a sorted search; returns the uids in order.
fn walk(archive: &Archive, request: &SearchRequest) -> Vec<adarchive_schema::Ad> {
    let mut out = Vec::new();
    let mut request = request.clone();
    loop {
        let page = search(archive, &request).unwrap();
        out.extend(page.results.into_iter().map(|h| h.ad));
        match page.next_cursor {
            Some(c) => request.cursor = Some(c),
            None => return out,
        }
    }
}

#[test]
fn every_sort_pages_through_all_results_in_order() {
    if crate::util::skip_without_samples() {
        return;
    }
    let (_dir, archive) = sample_archive();
    let eur = Filters {
        currency: vec!["EUR".into()],
        ..Filters::default()
    };
    let eur_total = total(&archive, "", eur.clone());
    type Key = Box<dyn Fn(&adarchive_schema::Ad) -> i128>;
    let spend = |upper: bool| -> Key {
        Box::new(move |ad| {
            let s = ad.spend.iter().find(|s| s.currency == "EUR").unwrap();
            if upper {
                s.upper.map_or(i128::MAX, i128::from)
            } else {
                i128::from(s.lower)
            }
        })
    };
    let cases: Vec<(&str, Filters, u64, Key)> = vec![
        (
            "first_shown",
            Filters::default(),
            2688,
            Box::new(|ad| {
                ad.first_shown
                    .map_or(i128::MIN, |t| t.unix_seconds().into())
            }),
        ),
        (
            "last_shown",
            Filters::default(),
            2688,
            Box::new(|ad| ad.last_shown.map_or(i128::MAX, |t| t.unix_seconds().into())),
        ),
        (
            "impressions",
            Filters::default(),
            2688,
            Box::new(|ad| ad.impressions.map_or(-1, |i| i.lower.into())),
        ),
        ("spend_lower", eur.clone(), eur_total, spend(false)),
        ("spend_upper", eur.clone(), eur_total, spend(true)),
    ];
    for (sort, filters, expected, key) in cases {
        for order in ["desc", "asc"] {
            let request = SearchRequest {
                sort: Some(format!("{sort}:{order}").parse().unwrap()),
                filters: filters.clone(),
                limit: 97,
                ..SearchRequest::default()
            };
            let ads = walk(&archive, &request);
            assert_eq!(ads.len() as u64, expected, "{sort}:{order}");
            let uids: HashSet<_> = ads.iter().map(|a| a.uid.clone()).collect();
            assert_eq!(uids.len(), ads.len(), "{sort}:{order}: no ad twice");
            for pair in ads.windows(2) {
                let (a, b) = (key(&pair[0]), key(&pair[1]));
                let in_order = if order == "desc" {
                    a > b || (a == b && pair[0].uid < pair[1].uid)
                } else {
                    a < b || (a == b && pair[0].uid < pair[1].uid)
                };
                assert!(
                    in_order,
                    "{sort}:{order}: {} ({a}) then {} ({b})",
                    pair[0].uid, pair[1].uid
                );
            }
        }
    }
    // Relevance pages add up to one large page.
    let request = SearchRequest {
        query: "groenlinks OR vvd OR party".into(),
        limit: 7,
        ..SearchRequest::default()
    };
    let paged: Vec<String> = walk(&archive, &request)
        .into_iter()
        .map(|a| a.uid)
        .collect();
    let one = search(
        &archive,
        &SearchRequest {
            limit: 1000,
            ..request.clone()
        },
    )
    .unwrap();
    assert!(one.total > 14);
    assert_eq!(
        paged,
        one.results
            .iter()
            .map(|h| h.ad.uid.clone())
            .collect::<Vec<_>>()
    );
    assert!(one.results.windows(2).all(|w| w[0].score >= w[1].score));
}

#[test]
fn phrases_exclusions_fields_and_snippets() {
    if crate::util::skip_without_samples() {
        return;
    }
    let (_dir, archive) = sample_archive();
    let raw = raw_ads();
    let epp = count(&raw, |a| {
        a.funder
            .as_deref()
            .is_some_and(|f| f.contains("European People's Party"))
    });
    assert!(epp > 0);
    assert_eq!(
        total(&archive, "\"european people's party\"", Filters::default()),
        epp
    );
    assert_eq!(
        total(&archive, "\"party people's european\"", Filters::default()),
        0
    );

    let groen = |a: &RawAd| {
        a.advertiser_name.as_deref().is_some_and(|n| {
            n.to_lowercase()
                .split_whitespace()
                .any(|w| w == "groenlinks")
        })
    };
    assert_eq!(
        total(&archive, "advertiser:groenlinks", Filters::default()),
        count(&raw, groen)
    );
    assert_eq!(
        total(
            &archive,
            "advertiser:groenlinks -media_type:video",
            Filters::default()
        ),
        count(&raw, |a| groen(a) && a.media.as_deref() != Some("video"))
    );
    assert_eq!(
        total(
            &archive,
            "advertiser:groenlinks country:NL platform:google",
            Filters::default()
        ),
        count(&raw, |a| groen(a) && a.countries.contains(&"NL".into()))
    );

    let page = search(
        &archive,
        &SearchRequest {
            query: "groenlinks".into(),
            ..SearchRequest::default()
        },
    )
    .unwrap();
    let snippet = page.results[0]
        .snippets
        .iter()
        .find(|s| s.field == "advertiser")
        .unwrap();
    let (start, end) = snippet.highlights[0];
    assert_eq!(snippet.fragment[start..end].to_lowercase(), "groenlinks");
}

#[test]
fn hostile_queries_get_errors_or_bounded_results() {
    if crate::util::skip_without_samples() {
        return;
    }
    let (_dir, archive) = sample_archive();
    let run = |query: &str, limit: usize, cursor: Option<&str>| {
        search(
            &archive,
            &SearchRequest {
                query: query.into(),
                limit,
                cursor: cursor.map(str::to_owned),
                ..SearchRequest::default()
            },
        )
    };
    let param = |r: Result<_, SearchError>| match r {
        Err(SearchError::BadParameter { param, .. }) => param,
        other => panic!(
            "expected a bad parameter, got {:?}",
            other.map(|p: adarchive::search::SearchResponse| p.total)
        ),
    };
    assert_eq!(param(run("\"unbalanced", 10, None)), "q");
    assert_eq!(param(run(&vec!["vote"; 10_000].join(" "), 10, None)), "q");
    assert_eq!(param(run("a", 1_000_000, None)), "limit");
    assert_eq!(param(run("a", 0, None)), "limit");
    assert_eq!(param(run("a", 10, Some("zz"))), "cursor");
    assert_eq!(param(run("a", 10, Some("7b7d"))), "cursor");
    assert_eq!(run("*", 10, None).unwrap().total, 2688);
    // Input with nothing searchable in it matches everything; a dangling OR is an error.
    assert_eq!(run("\u{0}\u{1} ::: -- \"\"", 10, None).unwrap().total, 2688);
    assert_eq!(param(run("\u{0}\u{1} ::: -- \"\" OR", 10, None)), "q");
    // A cursor only continues the sort it was made for.
    let first = run("", 5, None).unwrap();
    let cursor = first.next_cursor.unwrap();
    let other_sort = search(
        &archive,
        &SearchRequest {
            sort: Some("impressions".parse().unwrap()),
            cursor: Some(cursor),
            ..SearchRequest::default()
        },
    );
    assert_eq!(param(other_sort), "cursor");
}

#[test]
fn spend_totals_match_the_raw_files() {
    if crate::util::skip_without_samples() {
        return;
    }
    let (_dir, archive) = sample_archive();
    let raw = raw_ads();
    let request = SearchRequest::default();
    let totals = spend_totals(&archive, &request, Grouping::Platform, 10).unwrap();
    for group in &totals.groups {
        let ads: Vec<&RawAd> = raw.iter().filter(|a| a.platform == group.key).collect();
        assert_eq!(group.ads, ads.len() as u64);
        for s in &group.spend {
            let ranges: Vec<_> = ads
                .iter()
                .flat_map(|a| a.spend.iter().filter(|x| x.0 == s.currency))
                .collect();
            assert_eq!(s.ads, ranges.len() as u64, "{} {}", group.key, s.currency);
            assert_eq!(
                s.lower,
                ranges.iter().map(|r| u128::from(r.1)).sum::<u128>(),
                "{} {}",
                group.key,
                s.currency
            );
            let open = ranges.iter().filter(|r| r.2.is_none()).count() as u64;
            assert_eq!(s.open_ended_ads, open);
            if open == 0 {
                assert_eq!(
                    s.upper,
                    Some(ranges.iter().map(|r| u128::from(r.2.unwrap())).sum())
                );
            } else {
                assert_eq!(s.upper, None, "never a made-up upper bound");
            }
        }
    }
    let by_advertiser = spend_totals(
        &archive,
        &SearchRequest {
            filters: Filters {
                currency: vec!["EUR".into()],
                ..Filters::default()
            },
            ..request.clone()
        },
        Grouping::Advertiser,
        1000,
    )
    .unwrap();
    let groen = by_advertiser
        .groups
        .iter()
        .find(|g| g.key == "google:AR148211418645135360")
        .unwrap();
    assert_eq!(groen.name.as_deref(), Some("GroenLinks"));
    let expected: u128 = raw
        .iter()
        .filter(|a| a.advertiser_id.as_deref() == Some("AR148211418645135360"))
        .map(|a| u128::from(a.spend.iter().find(|s| s.0 == "EUR").unwrap().1))
        .sum();
    assert_eq!(groen.spend.len(), 1, "only the filtered currency");
    assert_eq!(groen.spend[0].lower, expected);

    let months =
        adarchive::spend::date_histogram(&archive, &request, adarchive::spend::Grouping::Month)
            .unwrap();
    let sep2020 = months
        .iter()
        .find(|(m, _)| m == "2020-09")
        .map(|m| m.1)
        .unwrap();
    let start = time::macros::datetime!(2020-09-01 0:00 UTC).unix_timestamp();
    let end = time::macros::datetime!(2020-10-01 0:00 UTC).unix_timestamp();
    assert_eq!(
        sep2020,
        count(&raw, |a| a.first.is_some_and(|s| s >= start && s < end))
    );

    // The search page's one-pass timeline says the same, and splits the
    // matches into running and ended as the `active` filter does.
    let timeline = adarchive::search::timeline(&archive, &request).unwrap();
    let labelled: Vec<(String, u64)> = timeline
        .months
        .iter()
        .map(|(m, n)| (adarchive::search::collect::TimelineCounts::label(*m), *n))
        .collect();
    assert_eq!(labelled, months);
    // Counted in the search's own pass, it is the same.
    let mut counted_along = request.clone();
    counted_along.timeline = true;
    assert_eq!(
        search(&archive, &counted_along).unwrap().timeline,
        Some(timeline.clone())
    );
    let mut everything = SearchRequest {
        timeline: true,
        ..SearchRequest::default()
    };
    let all = search(&archive, &everything).unwrap();
    everything.timeline = false;
    assert_eq!(
        all.timeline,
        Some(adarchive::search::timeline(&archive, &everything).unwrap())
    );
    for (active, counted) in [(true, timeline.running), (false, timeline.ended)] {
        let mut narrowed = request.clone();
        narrowed.filters.active = Some(active);
        assert_eq!(
            search(&archive, &narrowed).unwrap().total,
            counted,
            "active={active}"
        );
    }
}

#[test]
fn every_script_is_searchable_in_generated_exports() {
    let dir = tempfile::tempdir().unwrap();
    generate_samples(
        &dir.path().join("exports"),
        &GenerateOptions {
            ads: 2_000,
            seed: 9,
            ..Default::default()
        },
    )
    .unwrap();
    let archive = Archive::open(&dir.path().join("data")).unwrap();
    import(&archive, &[dir.path().join("exports")]);
    let texts = |uid: &str| {
        let ad = archive.latest(uid).unwrap().unwrap();
        let c = &ad.creative;
        let all: Vec<&str> = c
            .bodies
            .iter()
            .chain(&c.titles)
            .chain(&c.descriptions)
            .chain(&c.captions)
            .map(String::as_str)
            .collect();
        format!(
            "{} {}",
            all.join(" "),
            ad.advertiser.name.unwrap_or_default()
        )
    };
    for (query, needle) in [
        ("เลือกตั้ง", "เลือกตั้ง"),       // Thai, "election", at the start of a sentence
        ("การศึกษา", "การศึกษา"),     // Thai, "education", inside a sentence
        ("الانتخابات", "الانتخابات"), // Arabic
        ("選挙", "選挙"),           // Japanese
        ("выборы", "Выборы"),       // Cyrillic, case-folded
        ("투표", "투표"),           // Korean
        ("election", "élection"),   // accents folded
        ("lodz", "Łódź"),
    ] {
        let page = search(
            &archive,
            &SearchRequest {
                query: query.into(),
                limit: 50,
                ..SearchRequest::default()
            },
        )
        .unwrap();
        assert!(page.total > 0, "{query} found nothing");
        for hit in &page.results {
            assert!(
                texts(&hit.ad.uid).contains(needle)
                    || hit
                        .ad
                        .targeting
                        .locations_included
                        .iter()
                        .any(|l| l.contains(needle)),
                "{query}: {} does not contain {needle}",
                hit.ad.uid
            );
        }
    }
    // A Thai string that appears in no ad finds nothing, though its characters do.
    assert_eq!(total(&archive, "ตั้งเลือก", Filters::default()), 0);
}

#[test]
fn the_search_command_prints_pages_as_json() {
    if crate::util::skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = adarchive(&[
        "import",
        "--data",
        path_str(&data),
        path_str(&sample(GOOGLE)),
    ]);
    assert!(out.status.success());
    let (code, page) = adarchive_json(&[
        "search",
        "--json",
        "--data",
        path_str(&data),
        "--limit",
        "5",
        "--facets",
        "media_type,advertiser",
        "--country",
        "NL",
        "groenlinks",
    ]);
    assert_eq!(code, 0);
    assert_eq!(page["total"], 12);
    let first = &page["results"][0];
    assert!(first["uid"].as_str().unwrap().starts_with("google:CR"));
    assert!(first["score"].as_f64().unwrap() > 0.0);
    assert_eq!(first["snippets"][0]["field"], "advertiser");
    assert_eq!(
        page["facets"]["advertiser"][0]["value"],
        "google:AR148211418645135360"
    );
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, next) = adarchive_json(&[
        "search",
        "--json",
        "--data",
        path_str(&data),
        "--limit",
        "10",
        "--country",
        "NL",
        "--cursor",
        cursor,
        "groenlinks",
    ]);
    assert_eq!(next["results"].as_array().unwrap().len(), 7);
    assert!(next["next_cursor"].is_null());

    let bad = adarchive(&["search", "--data", path_str(&data), "\"open"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("never closed"));
}

#[test]
fn exports_have_resume_points_that_continue_exactly() {
    if crate::util::skip_without_samples() {
        return;
    }
    use adarchive::search::export::{export, ExportFormat};
    let (_dir, archive) = sample_archive();
    let request = SearchRequest {
        sort: Some("impressions".parse().unwrap()),
        ..SearchRequest::default()
    };
    let mut out = Vec::new();
    let summary = export(&archive, &request, ExportFormat::Ndjson, 100, &mut out).unwrap();
    assert_eq!(summary.ads, 2688);
    assert_eq!(summary.last_cursor, None);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let uids: Vec<String> = lines
        .iter()
        .filter_map(|l| l["uid"].as_str().map(str::to_owned))
        .collect();
    let cursors: Vec<String> = lines
        .iter()
        .filter_map(|l| l["next_cursor"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(uids.len(), 2688);
    assert_eq!(uids.iter().collect::<HashSet<_>>().len(), 2688);
    assert_eq!(cursors.len(), 26, "after every 100 ads but the last page");

    // Resuming from the 10th resume point gives exactly what followed it.
    let resumed_request = SearchRequest {
        cursor: Some(cursors[9].clone()),
        ..request.clone()
    };
    let mut rest = Vec::new();
    export(
        &archive,
        &resumed_request,
        ExportFormat::Ndjson,
        100,
        &mut rest,
    )
    .unwrap();
    let rest: Vec<String> = String::from_utf8(rest)
        .unwrap()
        .lines()
        .filter_map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["uid"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(rest, uids[1000..]);

    let mut csv_bytes = Vec::new();
    export(&archive, &request, ExportFormat::Csv, 100, &mut csv_bytes).unwrap();
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(&csv_bytes[..])
        .records()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        rows.iter().map(|r| r[0].to_owned()).collect::<Vec<_>>(),
        uids
    );
    assert_eq!(&rows[99][23], cursors[0].as_str());
    assert!(rows[98][23].is_empty());
}

/// The sample archive with every ad of one Snap file updated by a later
/// export (spend grown by one), so that its first index segment holds
/// deleted documents.
fn sample_archive_with_updates() -> (tempfile::TempDir, Archive) {
    let (dir, archive) = sample_archive();
    let mut reader = csv::Reader::from_path(sample(SNAP[2])).unwrap();
    let headers = reader.headers().unwrap().clone();
    let spend = headers.iter().position(|h| h == "Spend").unwrap();
    let later = dir.path().join("2023_PoliticalAds.later.csv");
    let mut writer = csv::Writer::from_path(&later).unwrap();
    writer.write_record(&headers).unwrap();
    for row in reader.records() {
        let row = row.unwrap();
        let grown = row[spend].parse::<u64>().map_or(0, |s| s + 1).to_string();
        let fields: Vec<&str> = (0..row.len())
            .map(|i| if i == spend { grown.as_str() } else { &row[i] })
            .collect();
        writer.write_record(&fields).unwrap();
    }
    writer.flush().unwrap();
    let report = import(&archive, &[later]);
    assert!(report.totals.updated > 400, "{:?}", report.totals);
    (dir, archive)
}

/// A filter that every ad passes: with it, a search takes the plain path
/// that scores and counts every match in one pass.
fn every_platform(archive: &Archive) -> Filters {
    let all = search(
        archive,
        &SearchRequest {
            facets: vec!["platform".into()],
            facet_limit: 100,
            ..SearchRequest::default()
        },
    )
    .unwrap();
    Filters {
        platform: all.facets["platform"]
            .iter()
            .map(|v| v.value.clone())
            .collect(),
        ..Filters::default()
    }
}

/// `request` as given, and with a filter every ad passes (so on the plain
/// path): the second request and both responses.
fn both_ways(
    archive: &Archive,
    request: &SearchRequest,
    everything: &Filters,
) -> (
    SearchRequest,
    adarchive::search::SearchResponse,
    adarchive::search::SearchResponse,
) {
    let plain = SearchRequest {
        filters: everything.clone(),
        ..request.clone()
    };
    let fast = search(archive, request).unwrap();
    let slow = search(archive, &plain).unwrap();
    (plain, fast, slow)
}

#[test]
fn faster_paths_give_what_scoring_and_counting_every_match_gives() {
    if crate::util::skip_without_samples() {
        return;
    }
    let (_dir, archive) = sample_archive_with_updates();
    let everything = every_platform(&archive);
    let facets: Vec<String> = adarchive::search::FACET_FIELDS
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();

    // Words joined by OR: the best page found skipping postings blocks.
    for query in [
        "groenlinks",
        "party",
        "vote OR stem",
        "snapchat OR election OR vvd",
        "creative:vote",
    ] {
        for with_facets in [false, true] {
            let request = SearchRequest {
                query: query.into(),
                limit: 7,
                facets: if with_facets {
                    facets.clone()
                } else {
                    Vec::new()
                },
                facet_limit: 1_000,
                ..SearchRequest::default()
            };
            let (plain, fast, slow) = both_ways(&archive, &request, &everything);
            assert!(fast.total > 0, "{query} finds nothing");
            assert_eq!(fast.total, slow.total, "{query}");
            assert_eq!(fast.facets, slow.facets, "{query}");
            let uids =
                |ads: Vec<adarchive_schema::Ad>| ads.into_iter().map(|a| a.uid).collect::<Vec<_>>();
            let (fast_walk, slow_walk) =
                (uids(walk(&archive, &request)), uids(walk(&archive, &plain)));
            assert_eq!(
                fast_walk.len() as u64,
                fast.total,
                "{query}: every match once"
            );
            assert_eq!(fast_walk, slow_walk, "{query}: the same pages");
            for (a, b) in fast.results.iter().zip(&slow.results) {
                let (a, b) = (a.score.unwrap(), b.score.unwrap());
                assert!(
                    (a - b).abs() <= a.abs() * 1e-6,
                    "{query}: score {a} against {b}"
                );
            }
        }
    }

    // No query and no filters: the total and the facet counts of every ad.
    for sort in ["first_shown", "last_shown:asc", "impressions"] {
        let request = SearchRequest {
            sort: Some(sort.parse().unwrap()),
            limit: 50,
            facets: facets.clone(),
            facet_limit: 1_000,
            ..SearchRequest::default()
        };
        let (_, fast, slow) = both_ways(&archive, &request, &everything);
        assert_eq!(fast.total, 2688);
        assert_eq!(fast.total, slow.total);
        assert_eq!(fast.facets, slow.facets, "{sort}");
        assert!(fast.facets["country"]
            .iter()
            .any(|v| v.value == "NL" && v.count > 0));
        let uids = |r: &adarchive::search::SearchResponse| {
            r.results
                .iter()
                .map(|h| h.ad.uid.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(uids(&fast), uids(&slow), "{sort}");
    }
}

/// Spend by advertiser and by platform, over an index of several segments
/// with thousands of advertisers, equals the sums of every ad's
/// published ranges; the order is the one `ordered_by` names, and a
/// smaller `limit` gives a prefix of it.
#[test]
fn spend_groups_over_many_segments_equal_the_sums_of_every_ad() {
    use adarchive::generate::AdvertiserShape;
    use std::collections::HashMap;
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(&dir.path().join("data")).unwrap();
    for (seed, advertisers) in [
        (31, AdvertiserShape::Realistic),
        (32, AdvertiserShape::OnePerAd),
        (33, AdvertiserShape::OnePerAd),
    ] {
        let exports = dir.path().join(format!("exports-{seed}"));
        let options = GenerateOptions {
            ads: 1_500,
            seed,
            advertisers,
            ..Default::default()
        };
        generate_samples(&exports, &options).unwrap();
        import(&archive, &[exports]);
    }
    let segments = archive
        .search_index()
        .unwrap()
        .searcher()
        .segment_readers()
        .len();
    assert!(segments >= 2, "the index has {segments} segment");

    // (ads, per currency: ads, lower, upper of bounded, open-ended)
    type Sums = (u64, BTreeMap<String, (u64, u128, u128, u64)>);
    let ads = walk(&archive, &SearchRequest::default());
    assert_eq!(ads.len(), 4_500);
    for (grouping, key_of) in [
        (
            Grouping::Advertiser,
            adarchive::index::schema::advertiser_key as fn(&adarchive_schema::Ad) -> String,
        ),
        (Grouping::Platform, |ad: &adarchive_schema::Ad| {
            ad.platform.to_string()
        }),
    ] {
        let mut expected: HashMap<String, Sums> = HashMap::new();
        for ad in &ads {
            let group = expected.entry(key_of(ad)).or_default();
            group.0 += 1;
            for s in &ad.spend {
                let c = group.1.entry(s.currency.clone()).or_default();
                c.0 += 1;
                c.1 += u128::from(s.lower);
                match s.upper {
                    Some(u) => c.2 += u128::from(u),
                    None => c.3 += 1,
                }
            }
        }
        let all = spend_totals(&archive, &SearchRequest::default(), grouping, 100_000).unwrap();
        assert_eq!(all.groups.len(), expected.len(), "{grouping}");
        if grouping == Grouping::Advertiser {
            // Nine ads in ten of a one-per-ad corpus have their own; the
            // two such corpora number theirs alike, so they share them.
            assert!(all.groups.len() > 2_000, "{} advertisers", all.groups.len());
        }
        for g in &all.groups {
            let (ads, currencies) = &expected[&g.key];
            assert_eq!(g.ads, *ads, "{grouping} {}", g.key);
            let got: BTreeMap<String, (u64, u128, u128, u64)> = g
                .spend
                .iter()
                .map(|s| {
                    (
                        s.currency.clone(),
                        (s.ads, s.lower, s.upper.unwrap_or(0), s.open_ended_ads),
                    )
                })
                .collect();
            let want: BTreeMap<String, (u64, u128, u128, u64)> = currencies
                .iter()
                .map(|(c, &(n, l, u, open))| {
                    (c.clone(), (n, l, if open > 0 { 0 } else { u }, open))
                })
                .collect();
            assert_eq!(got, want, "{grouping} {}", g.key);
        }
        // Several currencies: by ads, most first, then by key.
        assert!(
            all.ordered_by.starts_with("number of ads"),
            "{}",
            all.ordered_by
        );
        for pair in all.groups.windows(2) {
            assert!(
                (std::cmp::Reverse(pair[0].ads), &pair[0].key)
                    < (std::cmp::Reverse(pair[1].ads), &pair[1].key),
                "{grouping}: {} before {}",
                pair[0].key,
                pair[1].key
            );
        }
        let top = spend_totals(&archive, &SearchRequest::default(), grouping, 7).unwrap();
        assert_eq!(top.groups, all.groups[..7.min(all.groups.len())]);
    }

    // In one currency the order is by its lower bound.
    let eur = SearchRequest {
        filters: Filters {
            currency: vec!["EUR".into()],
            ..Filters::default()
        },
        ..SearchRequest::default()
    };
    let by_eur = spend_totals(&archive, &eur, Grouping::Advertiser, 100_000).unwrap();
    assert_eq!(
        by_eur.ordered_by,
        "spend in EUR (lower bound), largest first"
    );
    let lower = |g: &adarchive::spend::GroupTotal| g.spend.first().map_or(0, |s| s.lower);
    for pair in by_eur.groups.windows(2) {
        assert!(
            (
                std::cmp::Reverse(lower(&pair[0])),
                std::cmp::Reverse(pair[0].ads),
                &pair[0].key
            ) < (
                std::cmp::Reverse(lower(&pair[1])),
                std::cmp::Reverse(pair[1].ads),
                &pair[1].key
            )
        );
    }
    let top = spend_totals(&archive, &eur, Grouping::Advertiser, 5).unwrap();
    assert_eq!(top.groups, by_eur.groups[..5]);
}

#[test]
fn the_matcher_of_a_search_finds_what_the_search_finds() {
    use adarchive::search::{Deadline, Matcher};
    if skip_without_samples() {
        return;
    }
    // Updated ads: their older documents are deleted, and must not match.
    let (_dir, archive) = sample_archive_with_updates();
    let everything: Vec<String> = walk(&archive, &SearchRequest::default())
        .into_iter()
        .map(|ad| ad.uid)
        .chain(["snap:no-such-ad".to_owned(), String::new()])
        .collect();
    let cases = [
        ("vote", Filters::default()),
        ("europe OR election", Filters::default()),
        (
            "",
            Filters {
                platform: vec!["snap".into()],
                ..Filters::default()
            },
        ),
        (
            "\"the european\"",
            Filters {
                platform: vec!["meta".into()],
                ..Filters::default()
            },
        ),
        ("status:listed", Filters::default()),
    ];
    for (query, filters) in cases {
        let request = SearchRequest {
            query: query.into(),
            filters: filters.clone(),
            ..SearchRequest::default()
        };
        let found: HashSet<String> = walk(&archive, &request)
            .into_iter()
            .map(|ad| ad.uid)
            .collect();
        let matcher = Matcher::new(&archive, query, &filters, &Deadline::default()).unwrap();
        // In batches, as pages of changes ask.
        let mut matched = HashSet::new();
        for batch in everything.chunks(97) {
            matched.extend(matcher.matching(batch).unwrap());
        }
        assert!(!found.is_empty() || query.is_empty(), "{query}");
        assert_eq!(matched, found, "{query} {filters:?}");
    }
}
