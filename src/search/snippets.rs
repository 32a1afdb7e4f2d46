//! Highlighted fragments of the texts a query matched.

use adarchive_schema::Ad;
use tantivy::snippet::SnippetGenerator;

use super::Snippet;

/// The texts of an ad per full-text field, as indexed.
fn texts_of<'a>(ad: &'a Ad, field: &str) -> Vec<&'a str> {
    let c = &ad.creative;
    match field {
        "creative" => c
            .bodies
            .iter()
            .chain(&c.titles)
            .chain(&c.descriptions)
            .chain(&c.captions)
            .map(String::as_str)
            .collect(),
        "advertiser" => ad.advertiser.name.iter().map(String::as_str).collect(),
        "funder" => ad
            .funder
            .iter()
            .chain(&ad.payers)
            .chain(&ad.beneficiaries)
            .map(String::as_str)
            .collect(),
        _ => ad
            .targeting
            .interests
            .iter()
            .chain(&ad.targeting.locations_included)
            .chain(ad.targeting.other.values().flatten())
            .map(String::as_str)
            .collect(),
    }
}

pub(super) fn snippets_of(ad: &Ad, generators: &[(String, SnippetGenerator)]) -> Vec<Snippet> {
    let mut out = Vec::new();
    for (field, generator) in generators {
        let best = texts_of(ad, field)
            .into_iter()
            .map(|text| generator.snippet(text))
            .filter(|s| !s.highlighted().is_empty())
            .max_by_key(|s| s.highlighted().len());
        if let Some(s) = best {
            out.push(Snippet {
                field: field.clone(),
                fragment: s.fragment().to_owned(),
                highlights: s.highlighted().iter().map(|r| (r.start, r.end)).collect(),
            });
        }
    }
    out
}
