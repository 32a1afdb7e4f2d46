//! Google's tables as the BigQuery dataset `google_political_ads` spells
//! them, saved every way researchers save them, read to the same records as
//! the transparency bundle's CSV of the same rows.
//!
//! Each fixture below is written in the bundle's spelling from Google's
//! documented columns; the BigQuery copies are derived from it the way each
//! tool writes them: lower-case names (the console's CSV and `bq extract`),
//! `UTC` timestamps, pandas' leading index column and `+00:00` timestamps,
//! and newline-delimited JSON with integers as strings and nulls.

use crate::common;

use adarchive_importers::by_name;
use adarchive_schema::{MediaType, ReportKind, SpendRange};
use common::{claims, read};

/// One table: its bundle CSV (header and rows), which columns are
/// BigQuery `TIMESTAMP`s, and which importer reads it.
struct Table {
    name: &'static str,
    format: &'static str,
    csv: &'static str,
    timestamps: &'static [&'static str],
}

const TABLES: &[Table] = &[
    Table {
        name: "creative_stats",
        format: "google-creative-stats",
        csv: "Ad_ID,Ad_URL,Ad_Type,Regions,Advertiser_ID,Advertiser_Name,Ad_Campaigns_List,Date_Range_Start,Date_Range_End,Num_of_Days,Impressions,Spend_USD,First_Served_Timestamp,Last_Served_Timestamp,Age_Targeting,Gender_Targeting,Geo_Targeting_Included,Geo_Targeting_Excluded,Spend_Range_Min_USD,Spend_Range_Max_USD,Spend_Range_Min_EUR,Spend_Range_Max_EUR,Spend_Range_Min_NZD,Spend_Range_Max_NZD\n\
CR101,https://adstransparency.google.com/advertiser/AR1/creative/CR101,Video,\"EU, NL\",AR08395185106758664193,Partij voor de Test,,2022-01-10,2022-01-14,5,10k-100k,,2022-01-10 05:00:00,2022-01-14 23:59:00,\"18-24, 25-34, ≥65\",\"Male, Female\",\"Netherlands, Drenthe\",Not targeted,,,500,1000,,\n\
CR102,https://adstransparency.google.com/advertiser/AR2/creative/CR102,Text,US,AR2,\"Smith, Jones & Co\",,2020-10-01,2020-10-01,1,≤ 10k,,2020-10-01 12:00:00,2020-10-01 13:30:00,Not targeted,Not targeted,\"23237,Virginia,United States\",,100000,,90000,,,\n",
        timestamps: &["First_Served_Timestamp", "Last_Served_Timestamp"],
    },
    Table {
        name: "advertiser_stats",
        format: "google-spend-reports",
        csv: "Advertiser_ID,Advertiser_Name,Public_IDs_List,Regions,Elections,Total_Creatives,Spend_USD,Spend_EUR,Spend_NZD,Spend_CLP\n\
AR2,\"Smith, Jones & Co\",\"FEC ID C00676700, EIN ID 46-3931666\",US,US-Federal,12,4500,0,0,0\n\
AR3,Kia Ora Party,,NZ,NZ-General,3,0,0,1200,0\n",
        timestamps: &[],
    },
    Table {
        name: "advertiser_weekly_spend",
        format: "google-spend-reports",
        csv: "Advertiser_ID,Advertiser_Name,Election_Cycle,Week_Start_Date,Spend_USD,Spend_EUR,Spend_NZD\n\
AR2,\"Smith, Jones & Co\",US-Federal-2018,2018-05-27,100,0,0\n\
AR3,Kia Ora Party,,2020-09-13,0,0,300\n",
        timestamps: &[],
    },
    Table {
        name: "geo_spend",
        format: "google-spend-reports",
        csv: "Country,Country_Subdivision_Primary,Country_Subdivision_Secondary,Spend_USD,Spend_EUR,Spend_NZD\n\
US,US-CA,California's 12th congressional district,120300,0,0\n\
NZ,,,0,0,5400\n",
        timestamps: &[],
    },
    Table {
        name: "advertiser_geo_spend",
        format: "google-spend-reports",
        csv: "Advertiser_ID,Advertiser_Name,Country,Country_Subdivision_Primary,Spend_USD,Spend_EUR,Spend_BRL\n\
AR2,\"Smith, Jones & Co\",US,US-WI,2300,0,0\n",
        timestamps: &[],
    },
    Table {
        name: "top_keywords_history",
        format: "google-spend-reports",
        csv: "Election_Cycle,Region,Elections,Report_Date,Keyword_1,Spend_USD_1,Keyword_2,Spend_USD_2,Keyword_3,Spend_USD_3,Keyword_4,Spend_USD_4,Keyword_5,Spend_USD_5,Keyword_6,Spend_USD_6\n\
US-Federal-2018,US,US-Federal,2019-06-24,beto o rourke,639200,elizabeth warren,567600,pete buttigieg,451700,joe biden,302400,rick scott,296000,kamala harris,244600\n",
        timestamps: &[],
    },
    Table {
        name: "campaign_targeting",
        format: "google-spend-reports",
        csv: "Campaign_ID,Age_Targeting,Gender_Targeting,Geo_Targeting_Included,Geo_Targeting_Excluded,Start_Date,End_Date,Ads_List,Advertiser_ID,Advertiser_Name\n\
7061,\"18-24, 25-34\",Female,\"Wisconsin, United States\",Not targeted,2019-03-01,2019-03-31,\"CR11, CR12, CR13\",AR2,\"Smith, Jones & Co\"\n",
        timestamps: &[],
    },
    Table {
        name: "advertiser_declared_stats",
        format: "google-spend-reports",
        csv: "Advertiser_ID,Advertiser_Declared_Name,Advertiser_Declared_Regulatory_ID,Advertiser_Declared_Scope,Advertiser_Declared_Promoter_Name,Advertiser_Declared_Promoter_Address\n\
AR4,Yes on Prop 99,1412345,\"Proposition 99, California, 2022\",,\n\
AR3,,,,Kia Ora Party,\"1 Lambton Quay, Wellington\"\n",
        timestamps: &[],
    },
];

/// The rows of a CSV, by header name, with the csv crate.
fn rows(csv_text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::ReaderBuilder::new().from_reader(csv_text.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

fn write_csv(header: &[String], rows: &[Vec<String>]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header).unwrap();
    for row in rows {
        writer.write_record(row).unwrap();
    }
    writer.into_inner().unwrap()
}

/// `2022-01-10 05:00:00` rewritten by `with` where the column is a
/// timestamp.
fn retime(table: &Table, header: &[String], row: &[String], with: &str) -> Vec<String> {
    header
        .iter()
        .zip(row)
        .map(|(name, value)| {
            if table.timestamps.contains(&name.as_str()) && !value.is_empty() {
                format!("{value}{with}")
            } else {
                value.clone()
            }
        })
        .collect()
}

/// Every way the table is saved from BigQuery, by a label.
fn bigquery_copies(table: &Table) -> Vec<(&'static str, Vec<u8>)> {
    let (header, data) = rows(table.csv);
    let lower: Vec<String> = header.iter().map(|h| h.to_ascii_lowercase()).collect();
    let utc: Vec<Vec<String>> = data
        .iter()
        .map(|r| retime(table, &header, r, " UTC"))
        .collect();

    let console = write_csv(&lower, &utc);

    let mut pandas_header = vec![String::new()];
    pandas_header.extend(lower.iter().cloned());
    let pandas_rows: Vec<Vec<String>> = data
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut out = vec![i.to_string()];
            out.extend(retime(table, &header, r, "+00:00"));
            out
        })
        .collect();
    let pandas = write_csv(&pandas_header, &pandas_rows);
    let mut reread_header = pandas_header.clone();
    reread_header[0] = "Unnamed: 0".into();
    let pandas_resaved = write_csv(&reread_header, &pandas_rows);

    let mut ndjson = Vec::new();
    for row in &utc {
        let object: serde_json::Map<String, serde_json::Value> = lower
            .iter()
            .zip(row)
            .map(|(name, value)| {
                // `bq extract` writes integers as strings and NULL as null.
                let value = if value.is_empty() {
                    serde_json::Value::Null
                } else {
                    serde_json::Value::String(value.clone())
                };
                (name.clone(), value)
            })
            .collect();
        ndjson.extend(serde_json::to_vec(&object).unwrap());
        ndjson.push(b'\n');
    }
    // A JSON array of the same rows, numbers as numbers, nulls left out.
    let array: Vec<serde_json::Value> = utc
        .iter()
        .map(|row| {
            let object: serde_json::Map<String, serde_json::Value> = lower
                .iter()
                .zip(row)
                .filter(|(_, value)| !value.is_empty())
                .map(|(name, value)| {
                    let value = match value.parse::<u64>() {
                        Ok(n) => serde_json::Value::from(n),
                        Err(_) => serde_json::Value::String(value.clone()),
                    };
                    (name.clone(), value)
                })
                .collect();
            serde_json::Value::Object(object)
        })
        .collect();
    let json_array = serde_json::to_vec_pretty(&array).unwrap();

    vec![
        ("console / bq extract CSV", console),
        ("pandas to_csv", pandas),
        ("pandas re-saved", pandas_resaved),
        ("bq extract NEWLINE_DELIMITED_JSON", ndjson),
        ("JSON array", json_array),
    ]
}

#[test]
fn every_bigquery_copy_is_claimed_by_its_importer_alone() {
    for table in TABLES {
        assert_eq!(
            claims(table.csv.as_bytes()),
            [table.format],
            "{}",
            table.name
        );
        for (how, bytes) in bigquery_copies(table) {
            assert_eq!(claims(&bytes), [table.format], "{} as {how}", table.name);
        }
    }
}

/// The canonical JSON of every record and report row read, in order: equal
/// JSON is an equal hash, and a difference shows where.
fn canonical(read: &common::Read) -> Vec<String> {
    let text = |json: Vec<u8>| String::from_utf8_lossy(&json).into_owned();
    read.records
        .iter()
        .map(|r| text(r.2.canonical_json()))
        .chain(read.reports.iter().map(|r| text(r.1.canonical_json())))
        .collect()
}

#[test]
fn every_bigquery_copy_reads_to_the_bundle_records() {
    for table in TABLES {
        let importer = by_name(table.format).unwrap();
        let bundle = read(importer, table.csv.as_bytes());
        assert!(
            bundle.problems.is_empty(),
            "{}: {:?}",
            table.name,
            bundle.problems
        );
        let expected = canonical(&bundle);
        assert_eq!(expected.len(), rows(table.csv).1.len(), "{}", table.name);
        let expected_hashes: Vec<String> = bundle
            .records
            .iter()
            .map(|r| r.2.record_hash().to_hex())
            .chain(bundle.reports.iter().map(|r| r.1.row_hash().to_hex()))
            .collect();
        for (how, bytes) in bigquery_copies(table) {
            let copy = read(importer, &bytes);
            assert!(
                copy.problems.is_empty(),
                "{} as {how}: {:?}",
                table.name,
                copy.problems
            );
            assert_eq!(canonical(&copy), expected, "{} as {how}", table.name);
            let hashes: Vec<String> = copy
                .records
                .iter()
                .map(|r| r.2.record_hash().to_hex())
                .chain(copy.reports.iter().map(|r| r.1.row_hash().to_hex()))
                .collect();
            assert_eq!(hashes, expected_hashes, "{} as {how}", table.name);
        }
    }
}

#[test]
fn creative_stats_from_bigquery_field_by_field() {
    let table = &TABLES[0];
    let (_, ndjson) = bigquery_copies(table)
        .into_iter()
        .find(|(how, _)| how.starts_with("bq extract NEWLINE"))
        .unwrap();
    let read = read(by_name("google-creative-stats").unwrap(), &ndjson);
    let ad = &read.records[0].2;
    assert_eq!(ad.uid, "google:CR101");
    assert_eq!(ad.creative.media_type, Some(MediaType::Video));
    assert_eq!(ad.countries, ["NL"]);
    assert_eq!(ad.regions, ["EU"]);
    assert_eq!(ad.advertiser.id.as_deref(), Some("AR08395185106758664193"));
    assert_eq!(ad.first_shown.unwrap().to_string(), "2022-01-10T05:00:00Z");
    assert_eq!(ad.last_shown.unwrap().to_string(), "2022-01-14T23:59:00Z");
    assert_eq!(ad.targeting.ages, ["18-24", "25-34", "65+"]);
    assert_eq!(ad.targeting.genders, ["male", "female"]);
    assert_eq!(
        ad.spend,
        [SpendRange {
            currency: "EUR".into(),
            lower: 500,
            upper: Some(1000)
        }]
    );
    assert_eq!(ad.unmapped["Num_of_Days"], "5");
    assert_eq!(ad.unmapped["Date_Range_Start"], "2022-01-10");
    assert!(!ad.unmapped.contains_key("num_of_days"));
    // The second row's open top bucket survives JSON's null.
    let second = &read.records[1].2;
    assert_eq!(second.spend[1].currency, "USD");
    assert_eq!(second.spend[1].upper, None);
    assert_eq!(
        second.targeting.locations_included,
        ["23237,Virginia,United States"]
    );
    // A pandas index is not part of the ad.
    let (_, pandas) = bigquery_copies(table)
        .into_iter()
        .find(|(how, _)| *how == "pandas to_csv")
        .unwrap();
    let read = common::read(by_name("google-creative-stats").unwrap(), &pandas);
    assert!(!read.records[0].2.unmapped.contains_key(""));
}

#[test]
fn new_tables_field_by_field() {
    let reports =
        |table: &Table| read(by_name(table.format).unwrap(), table.csv.as_bytes()).reports;
    let find = |name: &str| TABLES.iter().find(|t| t.name == name).unwrap();

    let keywords = reports(find("top_keywords_history"));
    let row = &keywords[0].1;
    assert_eq!(row.kind, ReportKind::TopKeywords);
    assert_eq!(row.country.as_deref(), Some("US"));
    assert_eq!(
        row.period_start.unwrap().to_string(),
        "2019-06-24T00:00:00Z"
    );
    assert_eq!(row.keywords.len(), 6);
    assert_eq!(row.keywords[0].keyword, "beto o rourke");
    assert_eq!(row.keywords[0].rank, 1);
    assert_eq!(
        row.keywords[0].spend,
        Some(SpendRange::exact("USD", 639_200))
    );
    assert!(row.spend.is_empty(), "per-keyword spend is not a total");
    assert!(row.unmapped.is_empty(), "{:?}", row.unmapped);

    let campaigns = reports(find("campaign_targeting"));
    let row = &campaigns[0].1;
    assert_eq!(row.kind, ReportKind::Campaign);
    assert_eq!(row.identifiers[0].kind, "google_campaign_id");
    assert_eq!(row.identifiers[0].value, "7061");
    assert_eq!(row.ads, Some(3));
    assert_eq!(row.period_end.unwrap().to_string(), "2019-03-31T00:00:00Z");
    assert_eq!(row.unmapped["Ads_List"], "CR11, CR12, CR13");
    assert_eq!(row.unmapped["Gender_Targeting"], "Female");

    let declared = reports(find("advertiser_declared_stats"));
    let california = &declared[0].1;
    assert_eq!(california.kind, ReportKind::AdvertiserDeclaration);
    assert_eq!(california.funder.as_deref(), Some("Yes on Prop 99"));
    assert_eq!(california.identifiers[0].value, "1412345");
    assert_eq!(
        california.unmapped["Advertiser_Declared_Scope"],
        "Proposition 99, California, 2022"
    );
    let new_zealand = &declared[1].1;
    assert_eq!(new_zealand.funder.as_deref(), Some("Kia Ora Party"));

    let by_state = reports(find("advertiser_geo_spend"));
    let row = &by_state[0].1;
    assert_eq!(row.kind, ReportKind::AdvertiserInRegion);
    assert_eq!(row.advertiser.id.as_deref(), Some("AR2"));
    assert_eq!(row.country.as_deref(), Some("US"));
    assert_eq!(row.location.as_deref(), Some("US-WI"));
    assert!(row.spend.contains(&SpendRange::exact("USD", 2300)));
    assert!(!row.spend_alternatives);
}

#[test]
fn a_bigquery_file_of_no_known_table_is_refused_with_its_columns_named() {
    let importer = by_name("google-creative-stats").unwrap();
    let err = importer
        .read(
            &mut &b"advertiser_id,advertiser_name\nAR1,x\n"[..],
            &mut |_| Ok(()),
        )
        .unwrap_err();
    assert!(err.to_string().contains("ad_id"), "{err}");
}
