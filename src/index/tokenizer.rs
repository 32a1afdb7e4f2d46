//! Tokenization for every script the ad libraries carry.
//!
//! Words are runs of letters and digits, lower-cased and folded to ASCII
//! where a Latin letter has an ASCII base (`élection` → `election`). Scripts
//! written without spaces between words (Thai, Lao, Khmer, Myanmar, Chinese,
//! Japanese), and Korean, whose words carry attached particles (`투표로`),
//! are indexed as overlapping character pairs, so that any word of two or
//! more characters is found as a phrase of its pairs wherever it sits in the
//! text — without a dictionary that would miss names and new words.

use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, TextAnalyzer, Token, TokenStream, Tokenizer,
};

/// The name the analyzer is registered under.
pub const ANALYZER: &str = "adarchive";

/// The analyzer for every full-text field.
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(MultilingualTokenizer)
        .filter(RemoveLongFilter::limit(80))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Words, and character pairs in scripts without spaces.
#[derive(Clone, Copy, Debug, Default)]
pub struct MultilingualTokenizer;

/// Whether `c` belongs to a script written without spaces between words.
fn unspaced(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF   // Thai, Lao
        | 0x1000..=0x109F // Myanmar
        | 0x1780..=0x17FF // Khmer
        | 0x1100..=0x11FF // Hangul Jamo
        | 0x3040..=0x30FF // Hiragana, Katakana
        | 0x3130..=0x318F // Hangul compatibility Jamo
        | 0x31F0..=0x31FF // Katakana extensions
        | 0x3400..=0x4DBF // CJK extension A
        | 0x4E00..=0x9FFF // CJK unified ideographs
        | 0xAC00..=0xD7AF // Hangul syllables
        | 0xF900..=0xFAFF // CJK compatibility ideographs
        | 0xFF66..=0xFF9F // half-width Katakana
        | 0x20000..=0x2FA1F)
}

fn word_char(c: char) -> bool {
    c.is_alphanumeric() || is_mark(c)
}

/// Combining marks (Thai vowels and tone marks, Arabic harakat, accents).
fn is_mark(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05C7 | 0x0610..=0x061A
        | 0x064B..=0x065F | 0x0670 | 0x06D6..=0x06ED | 0x0900..=0x0903
        | 0x093A..=0x094F | 0x0E31 | 0x0E34..=0x0E3A | 0x0E47..=0x0E4E
        | 0x0EB1 | 0x0EB4..=0x0EBC | 0x0EC8..=0x0ECE | 0x102B..=0x103E
        | 0x17B4..=0x17D3 | 0x3099..=0x309A)
}

/// The token stream: every token is computed up front, since texts are short.
pub struct MultilingualStream {
    tokens: Vec<Token>,
    next: usize,
}

impl Tokenizer for MultilingualTokenizer {
    type TokenStream<'a> = MultilingualStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> MultilingualStream {
        let mut tokens = Vec::new();
        let mut chars = text.char_indices().peekable();
        let mut position = 0usize;
        while let Some(&(start, c)) = chars.peek() {
            if !word_char(c) {
                chars.next();
                continue;
            }
            if unspaced(c) {
                // A run of unspaced script (marks included): character pairs.
                let mut run: Vec<(usize, char)> = Vec::new();
                while let Some(&(i, c)) = chars.peek() {
                    if unspaced(c) || (is_mark(c) && !run.is_empty()) {
                        run.push((i, c));
                        chars.next();
                    } else {
                        break;
                    }
                }
                let end_of = |(i, c): (usize, char)| i + c.len_utf8();
                if let [single] = run[..] {
                    tokens.push(token(text, single.0, end_of(single), position));
                    position += 1;
                } else {
                    for pair in run.windows(2) {
                        tokens.push(token(text, pair[0].0, end_of(pair[1]), position));
                        position += 1;
                    }
                }
            } else {
                let mut end = start;
                while let Some(&(i, c)) = chars.peek() {
                    if word_char(c) && !unspaced(c) {
                        end = i + c.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(token(text, start, end, position));
                position += 1;
            }
        }
        MultilingualStream { tokens, next: 0 }
    }
}

fn token(text: &str, from: usize, to: usize, position: usize) -> Token {
    Token {
        offset_from: from,
        offset_to: to,
        position,
        text: text[from..to].to_owned(),
        position_length: 1,
    }
}

impl TokenStream for MultilingualStream {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

/// The analyzed terms of `text`, in order.
///
/// ```
/// use adarchive::index::tokenizer::terms;
/// assert_eq!(terms("L'Élection, 2024!"), ["l", "election", "2024"]);
/// assert_eq!(terms("เลือกตั้ง"), ["เล", "ลื", "ือ", "อก", "กต", "ตั", "ั้", "้ง"]);
/// assert_eq!(terms("選挙に行こう"), ["選挙", "挙に", "に行", "行こ", "こう"]);
/// assert_eq!(terms("الانتخابات فرصتنا"), ["الانتخابات", "فرصتنا"]);
/// ```
pub fn terms(text: &str) -> Vec<String> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_their_offsets_and_positions_across_scripts() {
        let mut analyzer = analyzer();
        let mut stream = analyzer.token_stream("Vote: เลือก ก 2024選挙!");
        let mut got = Vec::new();
        while stream.advance() {
            let t = stream.token();
            got.push((t.text.clone(), t.offset_from, t.offset_to, t.position));
        }
        let expected = [
            ("vote", 0, 4, 0),
            ("เล", 6, 12, 1),
            ("ลื", 9, 15, 2),
            ("ือ", 12, 18, 3),
            ("อก", 15, 21, 4),
            ("ก", 22, 25, 5),
            ("2024", 26, 30, 6),
            ("選挙", 30, 36, 7),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|&(t, from, to, pos)| (t.to_owned(), from, to, pos))
            .collect();
        assert_eq!(got, expected);
        // A stream gives nothing more once it ends.
        assert!(!stream.advance());
        assert!(terms("  ... !").is_empty());
    }
}
