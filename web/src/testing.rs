//! A headless Chromium driven through WebDriver, for tests of the UI (feature
//! `test-browser`): this crate's own and the CLI's, which points it at a real
//! `endure server start-dev`.
//!
//! Needs `chromedriver` and `chromium` (Debian's `chromium-driver` and `chromium`;
//! `$CHROMEDRIVER` and `$CHROMIUM` name other paths). Without them [`Chromium::start`]
//! says so and answers `None`, so the test can pass — unless `CI` or
//! `ENDURE_TEST_BROWSER=required` is set, when it fails. Screenshots go to
//! `target/ui-screenshots/`. These are test helpers: they panic, naming what failed, where a
//! test would.
#![allow(
    clippy::disallowed_methods,
    reason = "a real browser process, waited for on the wall clock"
)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// How long a page condition may take to hold.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A chromedriver process and its Chromium session; both end with [`close`](Self::close)
/// (or when dropped: chromedriver is killed, and its browser with it).
pub struct Chromium {
    driver: Child,
    /// The WebDriver session.
    pub browser: Client,
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Where chromedriver is: `$CHROMEDRIVER`, or on the PATH.
fn chromedriver() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMEDRIVER") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromedriver"))
            .find(|path| path.is_file())
    })
}

/// Whether a missing browser fails the test instead of skipping it.
fn required() -> bool {
    std::env::var_os("CI").is_some()
        || std::env::var("ENDURE_TEST_BROWSER").as_deref() == Ok("required")
}

impl Chromium {
    /// Starts chromedriver on a free loopback port and a headless Chromium session
    /// through it; `None` (said on stderr) when chromedriver is not installed and the
    /// browser tests are not required.
    pub async fn start() -> Option<Self> {
        let Some(path) = chromedriver() else {
            assert!(
                !required(),
                "chromedriver is not installed (apt-get install chromium chromium-driver), and CI needs the browser tests"
            );
            eprintln!(
                "skipping the browser tests: chromedriver is not installed (apt-get install chromium chromium-driver)"
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let driver = Command::new(&path)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run {}: {error}", path.display()));
        let mut options = json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1360,1100", "--no-first-run", "--disable-extensions"]
        });
        if let Some(binary) = std::env::var_os("CHROMIUM") {
            options["binary"] = json!(binary.to_string_lossy());
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(browser) => return Some(Self { driver, browser }),
                Err(error) => last = Some(error.to_string()),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("cannot start a Chromium session through chromedriver: {last:?}");
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) {
        self.browser
            .goto(url)
            .await
            .unwrap_or_else(|error| panic!("cannot open {url}: {error}"));
    }

    /// Clicks the element `selector` finds.
    pub async fn click(&self, selector: &str) {
        self.find(selector)
            .await
            .click()
            .await
            .unwrap_or_else(|error| panic!("cannot click {selector}: {error}"));
    }

    /// Types `text` into the element `selector` finds.
    pub async fn type_into(&self, selector: &str, text: &str) {
        self.find(selector)
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|error| panic!("cannot type into {selector}: {error}"));
    }

    /// The element `selector` finds.
    pub async fn find(&self, selector: &str) -> fantoccini::elements::Element {
        self.browser
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|error| panic!("no element {selector}: {error}"))
    }

    /// Runs `script` in the page and answers what it returns.
    pub async fn run(&self, script: &str) -> Value {
        self.browser
            .execute(script, vec![])
            .await
            .unwrap_or_else(|error| panic!("the script {script:?} failed: {error}"))
    }

    /// The text of every element `selector` matches.
    pub async fn texts(&self, selector: &str) -> Vec<String> {
        let script = format!(
            "return Array.from(document.querySelectorAll({selector:?})).map(e => e.innerText.trim());"
        );
        serde_json::from_value(self.run(&script).await).expect("a list of strings")
    }

    /// Waits until the JavaScript expression `condition` is true on the page, or fails
    /// with a screenshot (`failed-<what>.png`) and the page's text.
    pub async fn until(&self, what: &str, condition: &str) {
        let script = format!("return !!({condition});");
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while tokio::time::Instant::now() < deadline {
            if self.browser.execute(&script, vec![]).await.ok() == Some(Value::Bool(true)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.screenshot(&format!("failed-{}", what.replace(' ', "-")))
            .await;
        let text = self.run("return document.body.innerText;").await;
        panic!(
            "the page never showed {what} ({condition}); it shows:\n{}",
            text.as_str().unwrap_or_default()
        );
    }

    /// Saves the page as `target/ui-screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.browser.screenshot().await.expect("a screenshot");
        let directory = screenshots();
        std::fs::create_dir_all(&directory).expect("the screenshot directory");
        std::fs::write(directory.join(format!("{name}.png")), png).expect("the screenshot written");
    }

    /// Ends the session and chromedriver.
    pub async fn close(mut self) {
        let browser = self.browser.clone();
        let _ = browser.close().await;
        let _ = self.driver.kill();
    }
}

/// Where screenshots go: `target/ui-screenshots/` of the workspace (or of
/// `$CARGO_TARGET_DIR`).
pub fn screenshots() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("ui-screenshots")
}
