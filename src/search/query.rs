//! The query language for users: words (all must match), `"exact phrases"`,
//! `-excluded`, `OR` between alternatives, and `field:value` on the
//! documented fields. Every input gives a query or an error that says what
//! to fix, and the work a query can cause is bounded.

use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::Term;

use crate::index::schema::{Fields, TEXT_FIELDS};
use crate::index::tokenizer::terms;

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 1_000;
/// Most clauses (words, phrases, field values) in one query.
pub const MAX_CLAUSES: usize = 32;
/// Most terms one phrase may analyze to.
pub const MAX_PHRASE_TERMS: usize = 64;

/// Keyword fields a query may name, with how their values are normalized.
pub const QUERY_KEYWORDS: &[(&str, &str, Case)] = &[
    ("platform", "platform", Case::Lower),
    ("country", "country", Case::Upper),
    ("region", "region", Case::Keep),
    ("language", "language", Case::Lower),
    ("currency", "currency", Case::Upper),
    ("media_type", "media_type", Case::Lower),
    ("advertiser_id", "advertiser_id", Case::Keep),
    ("funder_name", "funder_name", Case::Keep),
    ("gender", "gender", Case::Lower),
    ("age", "age", Case::Keep),
    ("status", "status", Case::Lower),
];

/// How a keyword value is normalized before matching.
#[derive(Clone, Copy, Debug)]
pub enum Case {
    /// As typed.
    Keep,
    /// Lower-cased.
    Lower,
    /// Upper-cased.
    Upper,
}

impl Case {
    pub fn apply(self, v: &str) -> String {
        match self {
            Case::Keep => v.to_owned(),
            Case::Lower => v.to_lowercase(),
            Case::Upper => v.to_uppercase(),
        }
    }
}

/// A query that cannot be run, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

#[derive(Debug, PartialEq)]
enum Clause {
    /// Text (one word or a phrase) in a full-text field, or in all of them.
    Text { field: Option<String>, text: String },
    /// An exact keyword value.
    Keyword { field: &'static str, value: String },
    /// `*`: everything.
    All,
}

#[derive(Debug)]
struct Item {
    clause: Clause,
    negated: bool,
    /// Joined to the previous item by `OR`.
    or_previous: bool,
}

/// Parses `input` into clauses.
fn parse(input: &str) -> Result<Vec<Item>, QueryError> {
    if input.chars().count() > MAX_QUERY_CHARS {
        return Err(QueryError(format!(
            "the query is longer than {MAX_QUERY_CHARS} characters; shorten it"
        )));
    }
    let mut items = Vec::new();
    let mut pending_or = false;
    let mut chars = input.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut negated = false;
        if c == '-' {
            chars.next();
            negated = true;
        }
        // A token runs to whitespace, except inside quotes.
        let mut token = String::new();
        let mut quoted = false;
        let mut quote_at = start;
        while let Some(&(i, c)) = chars.peek() {
            if c == '"' {
                quoted = !quoted;
                quote_at = i;
                token.push(c);
                chars.next();
                continue;
            }
            if c.is_whitespace() && !quoted {
                break;
            }
            token.push(c);
            chars.next();
        }
        if quoted {
            let at = input[..quote_at].chars().count() + 1;
            return Err(QueryError(format!(
                "a quote at character {at} opens a phrase that is never closed; add the closing \" or remove it"
            )));
        }
        if token == "OR" && !negated {
            if items.is_empty() {
                return Err(QueryError("`OR` needs something before it".into()));
            }
            pending_or = true;
            continue;
        }
        let clause = clause(&token)?;
        let Some(clause) = clause else {
            continue;
        };
        items.push(Item {
            clause,
            negated,
            or_previous: std::mem::take(&mut pending_or),
        });
        if items.len() > MAX_CLAUSES {
            return Err(QueryError(format!(
                "the query has more than {MAX_CLAUSES} words, phrases or field values; use fewer"
            )));
        }
    }
    if pending_or {
        return Err(QueryError("`OR` needs something after it".into()));
    }
    Ok(items)
}

fn unquote(s: &str) -> String {
    s.replace('"', " ")
}

fn clause(token: &str) -> Result<Option<Clause>, QueryError> {
    if token == "*" {
        return Ok(Some(Clause::All));
    }
    if let Some((name, value)) = token.split_once(':') {
        if !name.starts_with('"') {
            let value = unquote(value).trim().to_owned();
            if let Some(&(field, _, case)) = QUERY_KEYWORDS.iter().find(|(n, _, _)| *n == name) {
                if value.is_empty() {
                    return Err(QueryError(format!("`{name}:` needs a value")));
                }
                return Ok(Some(Clause::Keyword {
                    field,
                    value: case.apply(&value),
                }));
            }
            if TEXT_FIELDS.iter().any(|(n, _)| *n == name) {
                if value.is_empty() {
                    return Err(QueryError(format!("`{name}:` needs a value")));
                }
                return Ok(Some(Clause::Text {
                    field: Some(name.to_owned()),
                    text: value,
                }));
            }
            // Not a field name (a time, a URL): plain text.
        }
    }
    let text = unquote(token);
    if text.trim().is_empty() {
        return Ok(None);
    }
    Ok(Some(Clause::Text { field: None, text }))
}

/// Builds the tantivy query for `input`. An empty query matches everything.
///
/// ```
/// use adarchive::index::Fields;
/// use adarchive::search::query::build;
/// let fields = Fields::new();
/// assert!(build(&fields, "school -\"oil drilling\" OR country:nl").is_ok());
/// assert!(build(&fields, "\"unclosed").unwrap_err().0.contains("never closed"));
/// ```
pub fn build(fields: &Fields, input: &str) -> Result<Box<dyn Query>, QueryError> {
    let items = parse(input)?;
    let mut groups: Vec<(Vec<Box<dyn Query>>, bool)> = Vec::new();
    let mut negatives: Vec<Box<dyn Query>> = Vec::new();
    for item in items {
        let Some(query) = clause_query(fields, &item.clause)? else {
            continue;
        };
        if item.negated {
            negatives.push(query);
        } else if item.or_previous && !groups.is_empty() {
            if let Some(last) = groups.last_mut() {
                last.0.push(query);
            }
        } else {
            groups.push((vec![query], false));
        }
    }
    let mut subqueries: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for (alternatives, _) in groups {
        let query: Box<dyn Query> = if alternatives.len() == 1 {
            alternatives
                .into_iter()
                .next()
                .unwrap_or_else(|| Box::new(AllQuery))
        } else {
            Box::new(BooleanQuery::new(
                alternatives
                    .into_iter()
                    .map(|q| (Occur::Should, q))
                    .collect(),
            ))
        };
        subqueries.push((Occur::Must, query));
    }
    if subqueries.is_empty() {
        subqueries.push((Occur::Must, Box::new(AllQuery)));
    }
    for q in negatives {
        subqueries.push((Occur::MustNot, q));
    }
    Ok(Box::new(BooleanQuery::new(subqueries)))
}

fn clause_query(fields: &Fields, clause: &Clause) -> Result<Option<Box<dyn Query>>, QueryError> {
    match clause {
        Clause::All => Ok(Some(Box::new(AllQuery))),
        Clause::Keyword { field, value } => {
            let f = fields
                .keyword(field)
                .ok_or_else(|| QueryError(format!("unknown field `{field}`")))?;
            Ok(Some(Box::new(TermQuery::new(
                Term::from_field_text(f, value),
                IndexRecordOption::Basic,
            ))))
        }
        Clause::Text { field, text } => {
            let tokens = terms(text);
            if tokens.is_empty() {
                return Ok(None);
            }
            if tokens.len() > MAX_PHRASE_TERMS {
                return Err(QueryError(format!(
                    "the phrase \"{text}\" is longer than {MAX_PHRASE_TERMS} words; shorten it"
                )));
            }
            let per_field: Vec<(Occur, Box<dyn Query>)> = targets(fields, field.as_deref())
                .into_iter()
                .map(|(f, boost)| {
                    let q: Box<dyn Query> = if tokens.len() == 1 {
                        Box::new(TermQuery::new(
                            Term::from_field_text(f, &tokens[0]),
                            IndexRecordOption::WithFreqs,
                        ))
                    } else {
                        Box::new(PhraseQuery::new(
                            tokens.iter().map(|t| Term::from_field_text(f, t)).collect(),
                        ))
                    };
                    (Occur::Should, boosted(q, boost))
                })
                .collect();
            Ok(Some(Box::new(BooleanQuery::new(per_field))))
        }
    }
}

/// The full-text fields a text clause searches, with their boosts: the
/// named one, or all of them.
fn targets(fields: &Fields, field: Option<&str>) -> Vec<(Field, f32)> {
    match field {
        Some(name) => fields
            .text_field(name)
            .map(|f| vec![(f, 1.0)])
            .unwrap_or_default(),
        None => TEXT_FIELDS
            .iter()
            .filter_map(|(name, boost)| fields.text_field(name).map(|f| (f, *boost)))
            .collect(),
    }
}

fn boosted(query: Box<dyn Query>, boost: f32) -> Box<dyn Query> {
    if (boost - 1.0).abs() > f32::EPSILON {
        Box::new(BoostQuery::new(query, boost))
    } else {
        query
    }
}

/// The same query as [`build`] as one flat union of term queries, when
/// `input` is only single words joined by `OR` (one word, most often);
/// `None` for anything else.
///
/// A flat union of terms is what lets tantivy skip the postings blocks that
/// cannot reach a page of the best results (block-max WAND); the nested
/// form `build` gives, one clause per word, hides the terms from it.
///
/// ```
/// use adarchive::index::Fields;
/// use adarchive::search::query::term_union;
/// let fields = Fields::new();
/// assert!(term_union(&fields, "election OR wahl").unwrap().is_some());
/// assert!(term_union(&fields, "election day").unwrap().is_none());
/// assert!(term_union(&fields, "\"election day\"").unwrap().is_none());
/// ```
pub fn term_union(fields: &Fields, input: &str) -> Result<Option<Box<dyn Query>>, QueryError> {
    let items = parse(input)?;
    if items.is_empty() {
        return Ok(None);
    }
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Clause::Text { field, text } = &item.clause else {
            return Ok(None);
        };
        let tokens = terms(text);
        if item.negated || (i > 0 && !item.or_previous) || tokens.len() != 1 {
            return Ok(None);
        }
        for (f, boost) in targets(fields, field.as_deref()) {
            let q: Box<dyn Query> = Box::new(TermQuery::new(
                Term::from_field_text(f, &tokens[0]),
                IndexRecordOption::WithFreqs,
            ));
            clauses.push((Occur::Should, boosted(q, boost)));
        }
    }
    Ok(Some(Box::new(BooleanQuery::new(clauses))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_negation_or_and_fields() {
        let items = parse(r#"school -"oil drilling" vote OR stem country:nl 10:30"#).unwrap();
        assert_eq!(items.len(), 6);
        assert!(items[1].negated);
        assert_eq!(
            items[1].clause,
            Clause::Text {
                field: None,
                text: " oil drilling ".into()
            }
        );
        assert!(items[3].or_previous);
        assert_eq!(
            items[4].clause,
            Clause::Keyword {
                field: "country",
                value: "NL".into()
            }
        );
        assert_eq!(
            items[5].clause,
            Clause::Text {
                field: None,
                text: "10:30".into()
            }
        );
    }

    #[test]
    fn hostile_input_gets_clear_errors() {
        assert!(parse("a \"b").unwrap_err().0.contains("character 3"));
        assert!(parse("OR a").is_err());
        assert!(parse("a OR").is_err());
        let many = vec!["w"; 10_000].join(" ");
        assert!(parse(&many).unwrap_err().0.contains("longer than"));
        let clauses = (0..40)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(parse(&clauses).unwrap_err().0.contains("more than 32"));
        assert!(parse("country:").is_err());
        assert!(build(&Fields::new(), "!!! ***").is_ok());
    }
}
