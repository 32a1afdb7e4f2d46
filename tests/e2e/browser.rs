//! The web pages in a real browser: Debian's Chromium driven through
//! ChromeDriver (WebDriver) by fantoccini, against the real server on a
//! random port. axe-core checks accessibility in that browser.
//!
//! Without `/usr/bin/chromedriver` these tests say they were skipped and
//! why, unless `ADARCHIVE_REQUIRE_BROWSER` is set (as CI sets it): then its
//! absence fails them. axe-core is read from `AXE_CORE_JS` (CI installs it
//! with npm).

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::web::spawn;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A browser session and the driver process behind it.
struct Browser {
    client: Client,
    driver: Child,
    width: u32,
}

impl Browser {
    /// Opens `address` and checks the page is laid out at the width asked.
    async fn open(&self, address: &str) {
        self.client.goto(address).await.unwrap();
        let shown = self
            .client
            .execute("return window.innerWidth", vec![])
            .await
            .unwrap();
        assert_eq!(
            shown,
            json!(self.width),
            "{address} is laid out {shown} px wide"
        );
    }
}

impl Drop for Browser {
    /// Ends the driver and every browser process it started, which share
    /// its process group, even when a test failed before closing them.
    fn drop(&mut self) {
        if let Ok(group) = libc::pid_t::try_from(self.driver.id()) {
            // SAFETY: kill(2) with a negative pid signals a process group;
            // it touches no memory of this process.
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Whether the browser tests are skipped here, after saying why.
fn skip_without_browser() -> bool {
    let missing = [CHROMEDRIVER, CHROMIUM]
        .into_iter()
        .find(|p| !std::path::Path::new(p).exists());
    let Some(missing) = missing else {
        return false;
    };
    assert!(
        std::env::var_os("ADARCHIVE_REQUIRE_BROWSER").is_none(),
        "{missing} is missing, and ADARCHIVE_REQUIRE_BROWSER asks for it (apt-get install chromium chromium-driver)"
    );
    eprintln!("skipped: {missing} is absent (Debian's chromium and chromium-driver); set ADARCHIVE_REQUIRE_BROWSER to make that a failure");
    true
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A Chrome DevTools Protocol command sent through ChromeDriver's
/// `goog/cdp/execute` endpoint.
#[derive(Debug)]
struct DevTools {
    method: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for DevTools {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({"cmd": self.method, "params": self.params});
        (http::Method::POST, Some(body.to_string()))
    }
}

/// The narrowest window headless Chromium opens on a desktop is 500 px;
/// narrower layouts are emulated the way DevTools' device mode does it.
const NARROWEST_WINDOW: u32 = 500;

/// Starts ChromeDriver and a headless Chromium whose page is `width` CSS
/// pixels wide, with or without JavaScript.
async fn browser(width: u32, javascript: bool) -> Browser {
    let port = free_port();
    let driver = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let address = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let client = crate::util::http_client();
    while client
        .get(format!("{address}/status"))
        .send()
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "chromedriver did not answer"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile = tempfile::tempdir().unwrap().keep();
    let mut options = json!({
        "binary": CHROMIUM,
        "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--hide-scrollbars",
            format!("--user-data-dir={}", profile.display()),
            format!("--window-size={width},1000"),
        ],
    });
    if !javascript {
        options["prefs"] = json!({"profile.managed_default_content_settings.javascript": 2});
    }
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert("goog:chromeOptions".into(), options);
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&address)
        .await
        .expect("a browser session");
    if width < NARROWEST_WINDOW {
        client
            .issue_cmd(DevTools {
                method: "Emulation.setDeviceMetricsOverride",
                params: json!({"width": width, "height": 844, "deviceScaleFactor": 1, "mobile": true}),
            })
            .await
            .expect("device emulation");
    }
    Browser {
        client,
        driver,
        width,
    }
}

/// Waits until the address holds `needle`.
async fn wait_for_url(client: &Client, needle: &str) -> String {
    let started = Instant::now();
    loop {
        let url = client.current_url().await.unwrap().to_string();
        if url.contains(needle) {
            return url;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{url} never held {needle}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The text of the first element `css` finds, once the page shows one.
async fn text_of(client: &Client, css: &str) -> String {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// Clicks the first element `css` finds, once the page shows one.
async fn click(client: &Client, css: &str) {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// The query string of the browser's address.
async fn query_of(client: &Client) -> String {
    client
        .current_url()
        .await
        .unwrap()
        .query()
        .unwrap_or_default()
        .to_owned()
}

fn total_text(total: u64) -> String {
    let words = if total == 1 { "ad" } else { "ads" };
    format!("{} {words}", adarchive::web::format::thousands(total))
}

#[tokio::test]
async fn a_search_typed_narrowed_and_paged_in_the_browser() {
    if skip_without_browser() {
        return;
    }
    let app = spawn().await;
    let b = browser(1280, true).await;
    let c = &b.client;
    b.open(&format!("{}/", app.address)).await;
    c.find(Locator::Id("q"))
        .await
        .unwrap()
        .send_keys("vote")
        .await
        .unwrap();
    click(c, "form.search button[type=submit]").await;
    wait_for_url(c, "q=vote").await;
    let api = app.json("/v1/ads?q=vote").await;
    assert_eq!(
        text_of(c, "#total").await,
        total_text(api["total"].as_u64().unwrap())
    );

    // A facet narrows: the total and the address change together.
    click(c, ".facets a[href*='platform=meta']").await;
    wait_for_url(c, "platform=meta").await;
    let narrowed = app.json("/v1/ads?q=vote&platform=meta").await;
    assert_eq!(
        text_of(c, "#total").await,
        total_text(narrowed["total"].as_u64().unwrap())
    );
    assert!(narrowed["total"].as_u64() < api["total"].as_u64());

    // The cursor pages on.
    let first = text_of(c, ".card").await;
    click(c, "a[rel=next]").await;
    wait_for_url(c, "cursor=").await;
    assert_ne!(text_of(c, ".card").await, first);

    // An ad, its provenance, and its source downloaded and checked.
    click(c, ".card .open a").await;
    wait_for_url(c, "/ads/").await;
    let link = c
        .wait()
        .for_element(Locator::Css(".observation a[download]"))
        .await
        .unwrap();
    let href = link.attr("href").await.unwrap().unwrap();
    let named = href.rsplit('/').next().unwrap().to_owned();
    let bytes = app.get(&href).await.bytes().await.unwrap();
    assert_eq!(blake3::hash(&bytes).to_hex().as_str(), named);
    assert!(text_of(c, ".observation").await.contains(&named));

    // Its advertiser, across platforms.
    click(c, "a[href^='/advertisers/']").await;
    let url = wait_for_url(c, "/advertisers/").await;
    let id = url.rsplit('/').next().unwrap().to_owned();
    let entity = app.json(&format!("/v1/advertisers/{id}")).await;
    assert_eq!(text_of(c, "h1").await, entity["name"].as_str().unwrap());
}

#[tokio::test]
async fn one_search_with_the_keyboard_alone() {
    if skip_without_browser() {
        return;
    }
    let app = spawn().await;
    let b = browser(1280, true).await;
    let c = &b.client;
    b.open(&format!("{}/", app.address)).await;
    let body = c.find(Locator::Css("body")).await.unwrap();
    body.send_keys(&fantoccini::key::Key::Tab.to_string())
        .await
        .unwrap();
    let first = c.active_element().await.unwrap();
    assert_eq!(first.text().await.unwrap(), "Skip to content");
    let mut reached = false;
    for _ in 0..20 {
        let active = c.active_element().await.unwrap();
        if active.attr("id").await.unwrap().as_deref() == Some("q") {
            reached = true;
            break;
        }
        active
            .send_keys(&fantoccini::key::Key::Tab.to_string())
            .await
            .unwrap();
    }
    assert!(reached, "the search field cannot be reached with Tab");
    let field = c.active_element().await.unwrap();
    field
        .send_keys(&format!("election{}", fantoccini::key::Key::Enter))
        .await
        .unwrap();
    wait_for_url(c, "q=election").await;
    let api = app.json("/v1/ads?q=election").await;
    assert_eq!(
        text_of(c, "#total").await,
        total_text(api["total"].as_u64().unwrap())
    );
}

#[tokio::test]
async fn the_same_search_without_javascript() {
    if skip_without_browser() {
        return;
    }
    let app = spawn().await;
    let b = browser(390, false).await;
    let c = &b.client;
    b.open(&format!("{}/", app.address)).await;
    c.find(Locator::Id("q"))
        .await
        .unwrap()
        .send_keys("vote")
        .await
        .unwrap();
    click(c, "form.search button[type=submit]").await;
    wait_for_url(c, "q=vote").await;
    click(c, ".facets section a:not(.active)").await;
    wait_for_url(c, "platform=").await;
    let api = app.json(&format!("/v1/ads?{}", query_of(c).await)).await;
    assert_eq!(
        text_of(c, "#total").await,
        total_text(api["total"].as_u64().unwrap())
    );
}

#[tokio::test]
async fn a_spend_csv_from_the_page_has_the_figures_of_v1_spend() {
    if skip_without_browser() {
        return;
    }
    let app = spawn().await;
    let b = browser(1280, true).await;
    let c = &b.client;
    b.open(&format!("{}/spend", app.address)).await;
    click(c, "#group_by option[value=country]").await;
    click(c, "form.search button[type=submit]").await;
    wait_for_url(c, "group_by=country").await;
    let link = c
        .wait()
        .for_element(Locator::LinkText("Download these figures as CSV"))
        .await
        .unwrap();
    let href = link.attr("href").await.unwrap().unwrap();
    let csv = app.get(&href).await.text().await.unwrap();
    // The page's JSON twin is the same request of /v1/spend.
    let twin = c
        .find(Locator::Css("link[rel=alternate]"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(twin, "/v1/spend?group_by=country");
    let audit = app.json(&twin).await;
    assert_eq!(audit["group_by"], "country");
    let mut rows = csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    let headers = rows.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (origin, group, currency, lower) = (
        column("origin"),
        column("key"),
        column("currency"),
        column("lower"),
    );
    let mut compared = 0;
    for row in rows.records() {
        let row = row.unwrap();
        if !row[origin].starts_with("ads") {
            continue;
        }
        let g = audit["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["key"] == row[group])
            .unwrap_or_else(|| panic!("{} is not a group of /v1/spend", &row[group]));
        let s = g["spend"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["currency"] == row[currency])
            .unwrap();
        assert_eq!(s["lower"].as_u64().unwrap().to_string(), row[lower]);
        compared += 1;
    }
    assert!(compared > 0);
}

/// axe-core's source, when it is installed.
fn axe_source() -> Option<String> {
    let path = std::env::var("AXE_CORE_JS").ok()?;
    Some(std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

#[tokio::test]
async fn every_page_type_is_accessible_loads_only_from_this_server_and_is_photographed() {
    if skip_without_browser() {
        return;
    }
    let axe = axe_source();
    if axe.is_none() {
        assert!(
            std::env::var_os("ADARCHIVE_REQUIRE_BROWSER").is_none(),
            "AXE_CORE_JS names no axe.min.js (npm install axe-core)"
        );
        eprintln!("axe-core skipped: AXE_CORE_JS is not set");
    }
    let app = spawn().await;
    let uid = app.json("/v1/ads?platform=meta&limit=1&q=vote").await["results"][0]["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = app.json("/v1/advertisers?limit=50").await;
    let advertiser = listed["advertisers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["members"].as_array().is_some_and(|m| m.len() > 1))
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .unwrap();
    let pages = [
        ("search", "/?q=vote&platform=meta".to_owned()),
        ("ad", format!("/ads/{uid}")),
        ("hostile", "/ads/meta:990001".to_owned()),
        ("spend", "/spend?group_by=country".to_owned()),
        ("advertiser", format!("/advertisers/{advertiser}")),
        ("sources", "/sources".to_owned()),
        ("about", "/about".to_owned()),
        ("changes", "/changes".to_owned()),
    ];
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    for width in [390, 1280] {
        let b = browser(width, true).await;
        let c = &b.client;
        for (name, path) in &pages {
            b.open(&format!("{}{path}", app.address)).await;
            // Every request the page made went to this server.
            let requests = c
                .execute(
                    "return performance.getEntriesByType('resource').map(e => e.name)",
                    vec![],
                )
                .await
                .unwrap();
            for r in requests.as_array().unwrap() {
                let r = r.as_str().unwrap();
                assert!(r.starts_with(&app.address), "{path} requested {r}");
            }
            // Nothing is wider than the window.
            let overflow = c
                .execute(
                    "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
                    vec![],
                )
                .await
                .unwrap();
            assert!(
                overflow.as_i64().unwrap() <= 0,
                "{path} at {width} px scrolls sideways by {overflow}"
            );
            let png = c.screenshot().await.unwrap();
            std::fs::write(shots.join(format!("{name}-{width}.png")), png).unwrap();
            if let Some(axe) = &axe {
                c.execute(axe, vec![]).await.unwrap();
                let found = c
                    .execute_async(
                        "const done = arguments[arguments.length - 1];
                         axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})
                           .then(r => done(r.violations
                             .filter(v => v.impact === 'serious' || v.impact === 'critical')
                             .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', '))))
                           .catch(e => done(['axe failed: ' + e]));",
                        vec![],
                    )
                    .await
                    .unwrap();
                assert_eq!(found, json!([]), "{path} at {width} px");
            }
        }
    }
}
