//! Names and texts in many languages and scripts.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// An advertiser: name, language, home country (ISO and Snap's lower-case name).
pub(super) struct Advertiser {
    pub name: &'static str,
    pub funder: &'static str,
    pub language: &'static str,
    pub country: &'static str,
    pub country_name: &'static str,
    pub currency: &'static str,
}

pub(super) const ADVERTISERS: &[Advertiser] = &[
    Advertiser {
        name: "Friends of Jane Alvarez",
        funder: "Friends of Jane Alvarez for Senate",
        language: "en",
        country: "US",
        country_name: "united states",
        currency: "USD",
    },
    Advertiser {
        name: "Citizens for Clean Water",
        funder: "Citizens for Clean Water PAC",
        language: "en",
        country: "US",
        country_name: "united states",
        currency: "USD",
    },
    Advertiser {
        name: "Comité pour l'élection de Marie Dubois",
        funder: "Association de financement de Marie Dubois",
        language: "fr",
        country: "FR",
        country_name: "france",
        currency: "EUR",
    },
    Advertiser {
        name: "Bürgerinitiative Grünes Tal e.V.",
        funder: "Bürgerinitiative Grünes Tal e.V.",
        language: "de",
        country: "DE",
        country_name: "germany",
        currency: "EUR",
    },
    Advertiser {
        name: "Partij voor Morgen",
        funder: "Stichting Partij voor Morgen",
        language: "nl",
        country: "NL",
        country_name: "netherlands",
        currency: "EUR",
    },
    Advertiser {
        name: "Fundación Educación Pública",
        funder: "Fundación Educación Pública",
        language: "es",
        country: "ES",
        country_name: "spain",
        currency: "EUR",
    },
    Advertiser {
        name: "พรรคก้าวหน้าใหม่",
        funder: "พรรคก้าวหน้าใหม่",
        language: "th",
        country: "TH",
        country_name: "thailand",
        currency: "THB",
    },
    Advertiser {
        name: "حزب المستقبل",
        funder: "حزب المستقبل",
        language: "ar",
        country: "AE",
        country_name: "united arab emirates",
        currency: "AED",
    },
    Advertiser {
        name: "Партия Развития",
        funder: "Партия Развития",
        language: "ru",
        country: "UA",
        country_name: "ukraine",
        currency: "UAH",
    },
    Advertiser {
        name: "未来の会",
        funder: "未来の会",
        language: "ja",
        country: "JP",
        country_name: "japan",
        currency: "JPY",
    },
    Advertiser {
        name: "국민연대",
        funder: "국민연대",
        language: "ko",
        country: "KR",
        country_name: "south korea",
        currency: "KRW",
    },
    Advertiser {
        name: "Ελληνική Πρωτοβουλία",
        funder: "Ελληνική Πρωτοβουλία",
        language: "el",
        country: "GR",
        country_name: "greece",
        currency: "EUR",
    },
    Advertiser {
        name: "Stowarzyszenie Łódź Razem",
        funder: "Stowarzyszenie Łódź Razem",
        language: "pl",
        country: "PL",
        country_name: "poland",
        currency: "PLN",
    },
    Advertiser {
        name: "Norsk Klimaforum",
        funder: "Norsk Klimaforum",
        language: "nb",
        country: "NO",
        country_name: "norway",
        currency: "NOK",
    },
    Advertiser {
        name: "Vote Smart UK",
        funder: "Vote Smart UK Ltd",
        language: "en",
        country: "GB",
        country_name: "united kingdom",
        currency: "GBP",
    },
];

/// Every language [`sentences`] writes, English (its fallback) first.
pub(super) const LANGUAGES: [&str; 13] = [
    "en", "fr", "de", "nl", "es", "th", "ar", "ru", "ja", "ko", "el", "pl", "nb",
];

/// Languages written without spaces between words, whose sentences are
/// cut into runs of characters to make words.
const UNSPACED: [&str; 2] = ["th", "ja"];

/// The words the generated ads say, each once, in the order their
/// sentences list them: a benchmark's searches ask for these.
pub(super) fn words() -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for language in LANGUAGES {
        for sentence in sentences(language) {
            let cut: Vec<String> = if UNSPACED.contains(&language) {
                let letters: Vec<char> = sentence
                    .chars()
                    .filter(|c| {
                        !c.is_whitespace() && !c.is_ascii_punctuation() && !matches!(c, '、' | '。')
                    })
                    .collect();
                letters.chunks(3).map(|run| run.iter().collect()).collect()
            } else {
                sentence
                    .split_whitespace()
                    .map(|w| {
                        w.trim_matches(|c: char| !c.is_alphanumeric())
                            .to_lowercase()
                    })
                    .collect()
            };
            for word in cut {
                let worth_asking =
                    word.chars().count() >= 2 && !word.chars().all(|c| c.is_ascii_digit());
                if worth_asking && !words.contains(&word) {
                    words.push(word);
                }
            }
        }
    }
    words
}

/// Sentences by language; a body joins two or three of them.
pub(super) fn sentences(language: &str) -> &'static [&'static str] {
    match language {
        "fr" => &[
            "Votez pour une école publique forte.",
            "L'élection se joue maintenant : mobilisez-vous !",
            "Ensemble, protégeons nos hôpitaux.",
            "Le climat n'attend pas.",
        ],
        "de" => &[
            "Wählen Sie am Sonntag für saubere Flüsse.",
            "Unsere Schulen brauchen Investitionen.",
            "Gemeinsam für bezahlbares Wohnen.",
            "Die Wahl entscheidet über unsere Zukunft.",
        ],
        "nl" => &[
            "Stem op 17 maart voor betaalbare zorg.",
            "Samen bouwen we aan een groene toekomst.",
            "Elke stem telt bij deze verkiezing.",
            "Investeer in onderwijs, investeer in Nederland.",
        ],
        "es" => &[
            "La educación pública es nuestro futuro.",
            "Vota por la sanidad de todos.",
            "¡Participa en la elección!",
            "Más inversión en energía limpia.",
        ],
        "th" => &[
            "เลือกตั้งครั้งนี้เพื่ออนาคตของเรา",
            "การศึกษาที่ดีสำหรับเด็กทุกคน",
            "ร่วมกันสร้างเศรษฐกิจที่เข้มแข็ง",
            "ไปใช้สิทธิเลือกตั้งวันอาทิตย์นี้",
        ],
        "ar" => &[
            "صوتوا من أجل مستقبل أفضل",
            "الانتخابات فرصتنا للتغيير",
            "التعليم حق للجميع",
            "معاً نبني اقتصاداً قوياً",
        ],
        "ru" => &[
            "Голосуйте за развитие наших городов.",
            "Выборы определяют наше будущее.",
            "Образование для каждого ребёнка.",
            "Вместе построим сильную экономику.",
        ],
        "ja" => &[
            "選挙に行こう、未来のために。",
            "子どもたちに質の高い教育を。",
            "地域経済を元気にします。",
            "あなたの一票が社会を変える。",
        ],
        "ko" => &[
            "투표로 미래를 바꿉시다.",
            "모든 아이에게 좋은 교육을.",
            "선거일에 꼭 투표하세요.",
            "함께 만드는 튼튼한 경제.",
        ],
        "el" => &[
            "Ψηφίστε για δημόσια παιδεία.",
            "Οι εκλογές κρίνουν το μέλλον μας.",
            "Μαζί για καθαρή ενέργεια.",
            "Κάθε ψήφος μετράει.",
        ],
        "pl" => &[
            "Głosuj na czyste powietrze w Łodzi.",
            "Wybory decydują o naszej przyszłości.",
            "Inwestujmy w szkoły publiczne.",
            "Razem zbudujemy silną gospodarkę.",
        ],
        "nb" => &[
            "Stem for et grønnere Norge.",
            "Valget avgjør klimapolitikken.",
            "Bedre skoler i hele landet.",
            "Din stemme teller ved dette valget.",
        ],
        _ => &[
            "Vote for clean water on election day.",
            "Our schools deserve full funding.",
            "Paid for by people, not corporations.",
            "Early voting starts Tuesday: make a plan to vote!",
            "Protect health care for every family.",
        ],
    }
}

/// A creative body of two or three sentences.
pub(super) fn body(rng: &mut ChaCha8Rng, language: &str) -> String {
    let pool = sentences(language);
    let n = rng.random_range(2..=3usize);
    let sep = if matches!(language, "th" | "ja") {
        ""
    } else {
        " "
    };
    (0..n)
        .map(|_| pool[rng.random_range(0..pool.len())])
        .collect::<Vec<_>>()
        .join(sep)
}

/// Digits as a string of length `len`.
pub(super) fn digits(rng: &mut ChaCha8Rng, len: usize) -> String {
    let mut s = String::with_capacity(len);
    s.push(char::from(b'1' + rng.random_range(0..9u8)));
    for _ in 1..len {
        s.push(char::from(b'0' + rng.random_range(0..10u8)));
    }
    s
}

/// Lower-case hex of `len` characters.
pub(super) fn hex(rng: &mut ChaCha8Rng, len: usize) -> String {
    const HEX: &[u8] = b"0123456789abcdef";
    (0..len)
        .map(|_| char::from(HEX[rng.random_range(0..16usize)]))
        .collect()
}

/// A time between 2024-01-01 and 2026-10-31, as Unix seconds.
pub(super) fn start_time(rng: &mut ChaCha8Rng) -> i64 {
    rng.random_range(1_704_067_200..1_793_404_800i64)
}

pub(super) fn datetime(unix: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// The FEC committee id of the `index`th advertiser when it is a US one: the
/// same on every platform, as a real committee's is.
pub(super) fn fec_id(index: usize) -> Option<String> {
    let a = ADVERTISERS.get(index)?;
    (a.country == "US").then(|| format!("C00{:06}", 676_700 + index * 7_919 % 300_000))
}
