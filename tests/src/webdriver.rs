//! A minimal W3C WebDriver client, just enough for our end-to-end browser
//! tests: it starts `chromedriver`, opens a headless Chromium session with a
//! phone-sized window, and offers navigation, CSS lookups, clicks, typing,
//! `<select>` handling, screenshots and the files the browser downloads.
//!
//! We deliberately do not depend on fantoccini/thirtyfour: the protocol is a
//! handful of JSON-over-HTTP calls (<https://www.w3.org/TR/webdriver2/>).
//!
//! Policy when the browser is missing (see [`Browser::launch`]):
//! * `MENTORTRACK_REQUIRE_BROWSER` set (non-empty, not `0`): launching fails,
//!   so the test fails (CI and `tests/run.sh` set it);
//! * otherwise launching fails with a [`BrowserUnavailable`] error, which the
//!   caller turns into a loud skip (see [`Browser::launch_or_skip`]).
//!
//! Binaries: `MENTORTRACK_CHROMEDRIVER` (default `/usr/bin/chromedriver`) and
//! `MENTORTRACK_CHROMIUM` (default `/usr/bin/chromium`).

#![allow(dead_code)]

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};

/// The W3C "web element identifier": the key under which an element
/// reference is returned (WebDriver spec, section "Elements").
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

const DEFAULT_CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// Phone-sized window (CSS pixels), so the tests see the mobile layout.
pub const WINDOW_WIDTH: u32 = 390;
pub const WINDOW_HEIGHT: u32 = 844;
/// Device pixel ratio of the emulated phone (screenshots are this many
/// device pixels per CSS pixel).
pub const PIXEL_RATIO: f64 = 2.0;

/// How long chromedriver may take to answer `/status` with `ready: true`.
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(30);
/// Timeout of one WebDriver HTTP command. Creating a session starts
/// Chromium, which can be slow on a loaded 2-core machine.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// Page-load timeout given to the browser.
const PAGE_LOAD_TIMEOUT_MS: u64 = 60_000;
/// Poll interval of [`Browser::wait_for`].
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// What Chromium names a download until it is complete.
const PARTIAL_DOWNLOAD: &str = ".crdownload";

/// Path of the chromedriver binary (`MENTORTRACK_CHROMEDRIVER` or the default).
pub fn chromedriver_path() -> PathBuf {
    env_path("MENTORTRACK_CHROMEDRIVER", DEFAULT_CHROMEDRIVER)
}

/// Path of the Chromium binary (`MENTORTRACK_CHROMIUM` or the default).
pub fn chromium_path() -> PathBuf {
    env_path("MENTORTRACK_CHROMIUM", DEFAULT_CHROMIUM)
}

fn env_path(var: &str, default: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(default),
    }
}

/// True when both chromedriver and Chromium exist.
pub fn browser_available() -> bool {
    chromedriver_path().is_file() && chromium_path().is_file()
}

/// True when `MENTORTRACK_REQUIRE_BROWSER` asks for a hard failure instead of
/// a skip when the browser is missing.
pub fn browser_required() -> bool {
    std::env::var("MENTORTRACK_REQUIRE_BROWSER")
        .map(|v| !v.is_empty() && v != "0")
        .unwrap_or(false)
}

/// Returned (inside the `anyhow::Error`) by [`Browser::launch`] when the
/// browser binaries are missing and `MENTORTRACK_REQUIRE_BROWSER` is not set.
/// Detect it with `err.downcast_ref::<BrowserUnavailable>()`.
#[derive(Debug, Clone)]
pub struct BrowserUnavailable {
    pub missing: Vec<PathBuf>,
}

impl fmt::Display for BrowserUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let missing: Vec<String> = self
            .missing
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        write!(
            f,
            "browser not available (missing: {}); install it with \
             `apt-get install chromium chromium-driver`, or point \
             MENTORTRACK_CHROMEDRIVER / MENTORTRACK_CHROMIUM at the binaries",
            missing.join(", ")
        )
    }
}

impl std::error::Error for BrowserUnavailable {}

/// A WebDriver session over a chromedriver child process.
pub struct Browser {
    wd: Wd,
    /// `http://127.0.0.1:PORT` of chromedriver.
    base: String,
    session: String,
    port: u16,
    /// Killed when dropped (`kill_on_drop`). Chromium talks to it over a
    /// pipe (`--remote-debugging-pipe`), so it exits when chromedriver dies
    /// (with the default debugging port it would be left orphaned). Still,
    /// `close()` and `Drop` first delete the session, so the browser quits
    /// cleanly before its profile dir is removed.
    driver: tokio::process::Child,
    /// Holds the Chromium profile, its downloads and chromedriver's log;
    /// removed on drop. Declared after `driver` so the driver is killed first.
    dir: TempDir,
    closed: bool,
}

impl Browser {
    /// Launches chromedriver and a headless Chromium session, honouring the
    /// missing-browser policy described in the module docs.
    pub async fn launch() -> Result<Browser> {
        let driver_bin = chromedriver_path();
        let chromium_bin = chromium_path();
        let missing: Vec<PathBuf> = [&driver_bin, &chromium_bin]
            .into_iter()
            .filter(|p| !p.is_file())
            .cloned()
            .collect();
        if !missing.is_empty() {
            let err = BrowserUnavailable { missing };
            if browser_required() {
                bail!("MENTORTRACK_REQUIRE_BROWSER is set but the {err}");
            }
            return Err(err.into());
        }

        let dir = TempDir::new("mentortrack-webdriver")?;
        let profile = dir.path().join("profile");
        let downloads = dir.path().join("downloads");
        for d in [&profile, &downloads] {
            std::fs::create_dir(d).with_context(|| format!("creating {}", d.display()))?;
        }
        let log_path = dir.path().join("chromedriver.log");

        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .timeout(COMMAND_TIMEOUT)
            .build()
            .context("building the HTTP client")?;
        let (driver, port) = spawn_driver(&driver_bin, &log_path, &http)
            .await
            .inspect_err(|_| {
                eprintln!(
                    "webdriver: chromedriver failed to start; last lines of its log:\n{}",
                    log_tail(&log_path, 20)
                );
            })?;
        let base = format!("http://127.0.0.1:{port}");

        // From here on, `browser` owns the child and the temp dir, so any
        // error below kills chromedriver and removes the profile.
        let mut browser = Browser {
            wd: Wd {
                http,
                prefix: String::new(),
            },
            base,
            session: String::new(),
            port,
            driver,
            dir,
            closed: false,
        };
        browser
            .start_session(&chromium_bin, &profile, &downloads)
            .await
            .map_err(|e| {
                eprintln!(
                    "webdriver: launch failed; last lines of the chromedriver log:\n{}",
                    log_tail(&log_path, 20)
                );
                e.context(format!(
                    "launching Chromium {} through chromedriver {}",
                    chromium_bin.display(),
                    driver_bin.display()
                ))
            })?;
        Ok(browser)
    }

    /// Like [`Browser::launch`], but when the browser is missing and not
    /// required, prints a loud skip message (naming `test_name`) and returns
    /// `Ok(None)`.
    pub async fn launch_or_skip(test_name: &str) -> Result<Option<Browser>> {
        match Browser::launch().await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.downcast_ref::<BrowserUnavailable>().is_some() => {
                eprintln!();
                eprintln!(
                    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
                );
                eprintln!("!!! SKIPPING browser test `{test_name}`: {e}");
                eprintln!("!!! Set MENTORTRACK_REQUIRE_BROWSER=1 to make this a failure.");
                eprintln!(
                    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
                );
                eprintln!();
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    async fn start_session(
        &mut self,
        chromium: &Path,
        profile: &Path,
        downloads: &Path,
    ) -> Result<()> {
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "timeouts": { "implicit": 0, "pageLoad": PAGE_LOAD_TIMEOUT_MS, "script": 30_000 },
                    "goog:chromeOptions": {
                        "binary": chromium.display().to_string(),
                        "args": [
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-dev-shm-usage",
                            "--disable-background-networking",
                            "--disable-component-update",
                            "--disable-sync",
                            "--no-first-run",
                            "--no-default-browser-check",
                            "--disable-quic",
                            // Talk to chromedriver over a pipe, so Chromium
                            // exits when chromedriver dies.
                            "--remote-debugging-pipe",
                            format!("--user-data-dir={}", profile.display()),
                            format!("--window-size={WINDOW_WIDTH},{WINDOW_HEIGHT}"),
                        ],
                        // Save downloads without asking, where
                        // `wait_for_download` looks; headless Chromium
                        // honours these since its "new" headless mode.
                        // Several downloads from one page are allowed.
                        "prefs": {
                            "download.default_directory": downloads.display().to_string(),
                            "download.prompt_for_download": false,
                            "download.directory_upgrade": true,
                            "profile.default_content_setting_values.automatic_downloads": 1,
                        },
                        // Headless Chromium will not make a window narrower
                        // than 500 px, so emulate the phone's viewport too
                        // (this also turns on touch and the mobile layout
                        // rules for `<meta name="viewport">`).
                        "mobileEmulation": {
                            "deviceMetrics": {
                                "width": WINDOW_WIDTH,
                                "height": WINDOW_HEIGHT,
                                "pixelRatio": PIXEL_RATIO,
                                "mobile": true,
                                "touch": true,
                            },
                        },
                    },
                },
            },
        });
        let root = Wd {
            http: self.wd.http.clone(),
            prefix: self.base.clone(),
        };
        let value = root
            .call(Method::POST, "/session", Some(caps))
            .await
            .context("creating a WebDriver session")?;
        let session = value
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("new-session response has no sessionId: {value}"))?
            .to_owned();
        self.wd.prefix = format!("{}/session/{session}", self.base);
        self.session = session;
        Ok(())
    }

    /// The WebDriver session id.
    pub fn session_id(&self) -> &str {
        &self.session
    }

    /// Navigates to `url` and waits for the page load to complete.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.wd
            .call(Method::POST, "/url", Some(json!({ "url": url })))
            .await
            .with_context(|| format!("navigating to {url}"))?;
        Ok(())
    }

    /// The URL of the current page.
    pub async fn current_url(&self) -> Result<String> {
        let v = self
            .wd
            .call(Method::GET, "/url", None)
            .await
            .context("reading the current URL")?;
        as_string(v, "current URL")
    }

    /// The title of the current page.
    pub async fn title(&self) -> Result<String> {
        let v = self
            .wd
            .call(Method::GET, "/title", None)
            .await
            .context("reading the page title")?;
        as_string(v, "page title")
    }

    /// Goes back in history.
    pub async fn back(&self) -> Result<()> {
        self.wd
            .call(Method::POST, "/back", Some(json!({})))
            .await
            .context("going back")?;
        Ok(())
    }

    /// Reloads the current page.
    pub async fn refresh(&self) -> Result<()> {
        self.wd
            .call(Method::POST, "/refresh", Some(json!({})))
            .await
            .context("refreshing")?;
        Ok(())
    }

    /// The first element matching the CSS selector (no waiting).
    pub async fn find(&self, css: &str) -> Result<Element> {
        find_in(&self.wd, "", css).await
    }

    /// All elements matching the CSS selector (possibly none).
    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>> {
        find_all_in(&self.wd, "", css).await
    }

    /// Waits until an element matches the CSS selector, polling every 100 ms.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.find(css).await {
                Ok(el) => return Ok(el),
                Err(e) if Instant::now() >= deadline => {
                    let url = self
                        .current_url()
                        .await
                        .unwrap_or_else(|e| format!("<{e}>"));
                    return Err(e.context(format!(
                        "timed out after {timeout:?} waiting for CSS selector `{css}` on {url}"
                    )));
                }
                Err(_) => tokio::time::sleep(POLL_INTERVAL).await,
            }
        }
    }

    /// Waits until an element matching `css` has text containing `needle`.
    pub async fn wait_for_text(
        &self,
        css: &str,
        needle: &str,
        timeout: Duration,
    ) -> Result<Element> {
        let deadline = Instant::now() + timeout;
        let mut last = String::from("<no element>");
        loop {
            if let Ok(el) = self.find(css).await
                && let Ok(text) = el.text().await
            {
                if text.contains(needle) {
                    return Ok(el);
                }
                last = text;
            }
            if Instant::now() >= deadline {
                bail!(
                    "timed out after {timeout:?} waiting for `{css}` to contain {needle:?}; last text: {last:?}"
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// The serialized DOM of the current page.
    pub async fn page_source(&self) -> Result<String> {
        let v = self
            .wd
            .call(Method::GET, "/source", None)
            .await
            .context("reading the page source")?;
        as_string(v, "page source")
    }

    /// Runs synchronous JavaScript (`return ...;`) and returns its result.
    /// Elements in `args` can be passed as [`Element::to_json`].
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.wd
            .call(
                Method::POST,
                "/execute/sync",
                Some(json!({ "script": script, "args": args })),
            )
            .await
            .context("executing a script")
    }

    /// A PNG screenshot of the viewport.
    pub async fn screenshot_png(&self) -> Result<Vec<u8>> {
        let v = self
            .wd
            .call(Method::GET, "/screenshot", None)
            .await
            .context("taking a screenshot")?;
        decode_png(v)
    }

    /// The directory Chromium saves downloads in, without asking: a fresh
    /// one per browser, removed with it.
    pub fn download_dir(&self) -> PathBuf {
        self.dir.path().join("downloads")
    }

    /// Waits until the download named `name` is complete in
    /// [`Browser::download_dir`] (the file is there and no partial
    /// `.crdownload` is left) and returns its bytes.
    pub async fn wait_for_download(&self, name: &str, timeout: Duration) -> Result<Vec<u8>> {
        let dir = self.download_dir();
        let path = dir.join(name);
        let deadline = Instant::now() + timeout;
        loop {
            let listed = list_dir(&dir)?;
            let partial = listed.iter().any(|f| f.ends_with(PARTIAL_DOWNLOAD));
            if !partial && listed.iter().any(|f| f == name) {
                return std::fs::read(&path).with_context(|| format!("reading {}", path.display()));
            }
            if Instant::now() >= deadline {
                bail!(
                    "timed out after {timeout:?} waiting for the download {name:?} in {}; it holds {listed:?}",
                    dir.display()
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Deletes the session and stops chromedriver (and with it Chromium).
    pub async fn close(mut self) -> Result<()> {
        self.closed = true;
        let deleted = self
            .wd
            .call(Method::DELETE, "", None)
            .await
            .context("deleting the WebDriver session");
        // Whatever happened, stop the driver; `dir` is removed on drop.
        let _ = self.driver.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.driver.wait()).await;
        deleted.map(|_| ())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.closed && !self.session.is_empty() {
            // Typically a test failed before `close()`. Quit the browser with
            // a blocking request (we cannot `.await` here); `kill_on_drop`
            // then stops chromedriver.
            if let Err(e) = delete_session_blocking(self.port, &self.session) {
                eprintln!(
                    "webdriver: Browser dropped without close(); deleting session {} failed: {e}",
                    self.session
                );
            }
        }
    }
}

/// A reference to a DOM element in the session.
#[derive(Clone)]
pub struct Element {
    wd: Wd,
    id: String,
    /// The selector it was found with, for error messages.
    css: String,
}

impl fmt::Debug for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Element")
            .field("css", &self.css)
            .field("id", &self.id)
            .finish()
    }
}

impl Element {
    fn path(&self, tail: &str) -> String {
        format!("/element/{}{tail}", self.id)
    }

    /// The element as a script argument for [`Browser::execute`].
    pub fn to_json(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    /// Clicks the element (scrolling it into view first).
    pub async fn click(&self) -> Result<()> {
        self.wd
            .call(Method::POST, &self.path("/click"), Some(json!({})))
            .await
            .with_context(|| format!("clicking `{}`", self.css))?;
        Ok(())
    }

    /// Types `text` into the element (appends to the current value).
    pub async fn send_keys(&self, text: &str) -> Result<()> {
        self.wd
            .call(
                Method::POST,
                &self.path("/value"),
                Some(json!({ "text": text })),
            )
            .await
            .with_context(|| format!("typing into `{}`", self.css))?;
        Ok(())
    }

    /// Clears an editable element.
    pub async fn clear(&self) -> Result<()> {
        self.wd
            .call(Method::POST, &self.path("/clear"), Some(json!({})))
            .await
            .with_context(|| format!("clearing `{}`", self.css))?;
        Ok(())
    }

    /// The rendered (visible) text of the element.
    pub async fn text(&self) -> Result<String> {
        let v = self
            .wd
            .call(Method::GET, &self.path("/text"), None)
            .await
            .with_context(|| format!("reading the text of `{}`", self.css))?;
        as_string(v, "element text")
    }

    /// The HTML attribute `name`, or `None` when absent. This is the markup's
    /// attribute, not the live state: for what the user typed or selected,
    /// use [`Element::value`] or [`Element::property`].
    pub async fn attr(&self, name: &str) -> Result<Option<String>> {
        let v = self
            .wd
            .call(Method::GET, &self.path(&format!("/attribute/{name}")), None)
            .await
            .with_context(|| format!("reading attribute `{name}` of `{}`", self.css))?;
        Ok(match v {
            Value::Null => None,
            Value::String(s) => Some(s),
            other => Some(other.to_string()),
        })
    }

    /// The DOM property `name` (e.g. `value`, `checked`) as JSON.
    pub async fn property(&self, name: &str) -> Result<Value> {
        self.wd
            .call(Method::GET, &self.path(&format!("/property/{name}")), None)
            .await
            .with_context(|| format!("reading property `{name}` of `{}`", self.css))
    }

    /// The live `value` property of an `<input>`, `<textarea>` or `<select>`.
    pub async fn value(&self) -> Result<String> {
        match self.property("value").await? {
            Value::String(s) => Ok(s),
            Value::Null => Ok(String::new()),
            other => Ok(other.to_string()),
        }
    }

    /// Whether the element is displayed.
    pub async fn is_displayed(&self) -> Result<bool> {
        let v = self
            .wd
            .call(Method::GET, &self.path("/displayed"), None)
            .await
            .with_context(|| format!("checking whether `{}` is displayed", self.css))?;
        v.as_bool()
            .ok_or_else(|| anyhow!("`displayed` of `{}` is not a bool: {v}", self.css))
    }

    /// The first descendant matching the CSS selector.
    pub async fn find(&self, css: &str) -> Result<Element> {
        find_in(&self.wd, &self.path(""), css)
            .await
            .with_context(|| format!("inside `{}`", self.css))
    }

    /// All descendants matching the CSS selector.
    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>> {
        find_all_in(&self.wd, &self.path(""), css)
            .await
            .with_context(|| format!("inside `{}`", self.css))
    }

    /// For a `<select>`: clicks its `<option value="...">`.
    pub async fn select_by_value(&self, value: &str) -> Result<()> {
        let css = format!("option[value=\"{}\"]", css_escape_string(value));
        let option = self
            .find(&css)
            .await
            .with_context(|| format!("selecting value {value:?} in `{}`", self.css))?;
        option
            .click()
            .await
            .with_context(|| format!("selecting value {value:?} in `{}`", self.css))
    }

    /// A PNG screenshot of just this element.
    pub async fn screenshot_png(&self) -> Result<Vec<u8>> {
        let v = self
            .wd
            .call(Method::GET, &self.path("/screenshot"), None)
            .await
            .with_context(|| format!("taking a screenshot of `{}`", self.css))?;
        decode_png(v)
    }
}

/// HTTP plumbing: `prefix` is `http://127.0.0.1:PORT/session/ID`.
#[derive(Clone)]
struct Wd {
    http: reqwest::Client,
    prefix: String,
}

impl Wd {
    /// Sends one command and returns the response's `value`, or an error
    /// carrying WebDriver's `value.error` and `value.message`.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value> {
        let url = format!("{}{path}", self.prefix);
        let mut req = self.http.request(method.clone(), &url);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("WebDriver {method} {url}: request failed"))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .with_context(|| format!("WebDriver {method} {url}: reading the response"))?;
        let parsed: Value = serde_json::from_str(&text).with_context(|| {
            format!(
                "WebDriver {method} {url}: HTTP {status}, body is not JSON: {}",
                shorten(&text)
            )
        })?;
        let mut parsed = parsed;
        let value = parsed
            .get_mut("value")
            .map(Value::take)
            .unwrap_or(Value::Null);
        let error = value.get("error").and_then(Value::as_str);
        if !status.is_success() || error.is_some() {
            let error = error.unwrap_or("unknown error");
            let message = value.get("message").and_then(Value::as_str).unwrap_or("");
            bail!(
                "WebDriver {method} {url}: HTTP {status}: {error}: {}",
                shorten(message)
            );
        }
        Ok(value)
    }
}

async fn find_in(wd: &Wd, scope: &str, css: &str) -> Result<Element> {
    let v = wd
        .call(
            Method::POST,
            &format!("{scope}/element"),
            Some(json!({ "using": "css selector", "value": css })),
        )
        .await
        .with_context(|| format!("finding CSS selector `{css}`"))?;
    element_from(wd, &v, css)
}

async fn find_all_in(wd: &Wd, scope: &str, css: &str) -> Result<Vec<Element>> {
    let v = wd
        .call(
            Method::POST,
            &format!("{scope}/elements"),
            Some(json!({ "using": "css selector", "value": css })),
        )
        .await
        .with_context(|| format!("finding all of CSS selector `{css}`"))?;
    let items = v
        .as_array()
        .ok_or_else(|| anyhow!("find-elements response for `{css}` is not an array: {v}"))?;
    items
        .iter()
        .map(|item| element_from(wd, item, css))
        .collect()
}

fn element_from(wd: &Wd, v: &Value, css: &str) -> Result<Element> {
    let id = v
        .get(ELEMENT_KEY)
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("response for `{css}` has no element reference: {v}"))?;
    Ok(Element {
        wd: wd.clone(),
        id: id.to_owned(),
        css: css.to_owned(),
    })
}

fn as_string(v: Value, what: &str) -> Result<String> {
    match v {
        Value::String(s) => Ok(s),
        other => bail!("{what} is not a string: {}", shorten(&other.to_string())),
    }
}

fn decode_png(v: Value) -> Result<Vec<u8>> {
    let b64 = as_string(v, "screenshot")?;
    let png = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .context("decoding the screenshot's base64")?;
    if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
        bail!("screenshot is not a PNG ({} bytes)", png.len());
    }
    Ok(png)
}

/// The names of the files in `dir`, sorted.
fn list_dir(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// Escapes a string for use inside a double-quoted CSS string.
fn css_escape_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\a "),
            c => out.push(c),
        }
    }
    out
}

fn shorten(s: &str) -> String {
    const MAX: usize = 2000;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}... ({} bytes in all)", &s[..i], s.len()),
        None => s.to_owned(),
    }
}

/// `DELETE /session/{id}` over a plain blocking socket, for `Drop`.
fn delete_session_blocking(port: u16, session: &str) -> std::io::Result<()> {
    use std::io::{Read, Write};
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    write!(
        stream,
        "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    // Chromedriver answers once the browser has quit. It may keep the
    // connection open, so read only the status line.
    let mut response = Vec::new();
    let mut buf = [0u8; 512];
    while !response.windows(2).any(|w| w == b"\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        response.extend_from_slice(&buf[..n]);
    }
    let status_line = String::from_utf8_lossy(&response);
    let status_line = status_line.lines().next().unwrap_or("");
    if status_line.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "unexpected answer: {status_line:?}"
        )))
    }
}

/// Starts chromedriver on a free port and waits until it is ready. Retries
/// with another port if the one picked was taken in the meantime.
async fn spawn_driver(
    driver_bin: &Path,
    log_path: &Path,
    http: &reqwest::Client,
) -> Result<(tokio::process::Child, u16)> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let port = free_port()?;
        let mut driver = tokio::process::Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log_path.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("spawning {}", driver_bin.display()))?;
        match wait_for_driver(&mut driver, http, port).await {
            Ok(()) => return Ok((driver, port)),
            Err(e) if attempt < 3 => {
                eprintln!("webdriver: chromedriver on port {port} did not start ({e:#}); retrying");
                let _ = driver.start_kill();
                let _ = driver.wait().await;
            }
            Err(e) => {
                return Err(e.context(format!("starting {}", driver_bin.display())));
            }
        }
    }
}

/// Polls chromedriver's `/status` until it reports `ready: true`.
async fn wait_for_driver(
    driver: &mut tokio::process::Child,
    http: &reqwest::Client,
    port: u16,
) -> Result<()> {
    let deadline = Instant::now() + DRIVER_START_TIMEOUT;
    let url = format!("http://127.0.0.1:{port}/status");
    let mut last_err: String;
    loop {
        if let Some(status) = driver.try_wait().context("polling chromedriver")? {
            bail!("chromedriver exited during startup with {status}");
        }
        match http.get(&url).timeout(Duration::from_secs(2)).send().await {
            Ok(resp) => match resp.json::<Value>().await {
                Ok(v) if v["value"]["ready"] == Value::Bool(true) => return Ok(()),
                Ok(v) => last_err = format!("not ready: {v}"),
                Err(e) => last_err = format!("bad /status body: {e}"),
            },
            Err(e) => last_err = e.to_string(),
        }
        if Instant::now() >= deadline {
            bail!(
                "chromedriver did not become ready within {DRIVER_START_TIMEOUT:?} at {url}: {last_err}"
            );
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener
        .local_addr()
        .context("reading the bound address")?
        .port())
}

/// The last `lines` log entries of chromedriver's log (entries start with
/// `[`; the pretty-printed JSON blobs between them are skipped).
fn log_tail(path: &Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(s) => {
            let entries: Vec<&str> = s.lines().filter(|l| l.starts_with('[')).collect();
            entries[entries.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("<cannot read {}: {e}>", path.display()),
    }
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> Result<TempDir> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        for _ in 0..100 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path =
                std::env::temp_dir().join(format!("{prefix}-{}-{nanos}-{n}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(e).with_context(|| format!("creating {}", path.display()));
                }
            }
        }
        bail!("could not create a fresh temp dir for {prefix}")
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Chromium may still be writing for a moment after being killed.
        for _ in 0..5 {
            if std::fs::remove_dir_all(&self.0).is_ok() || !self.0.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
