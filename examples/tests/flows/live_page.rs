//! The page of `game_backend --serve` in a real browser: headless Chromium driven through
//! chromedriver (WebDriver). An xp gain made through the repository shows on the page, live,
//! and a leaderboard change made while the page reconnects shows once it is back.
//! Without `/usr/bin/chromium` and `/usr/bin/chromedriver` the test says it was skipped
//! (`.ci/run` installs both, so CI runs it).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use eventful_core::{EventStore, ExpectedVersion, NewEvent, Payload, StreamId, TypeName};
use eventful_examples::ids::PlayerId;
use eventful_examples::player::{PlayerCommand, PlayerEvent};
use eventful_examples::serve::{self, ServeSettings};
use eventful_examples::simulation::name_of;
use eventful_store_memory::MemoryStore;
use fantoccini::{Client, ClientBuilder, Locator};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long the page may take to show something before the test fails: a guard against a
/// hang, far above what it takes.
const PATIENCE: Duration = Duration::from_secs(30);

/// chromedriver, stopped when dropped.
struct Driver {
    process: Child,
    port: u16,
}

impl Driver {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let process = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        Self { process, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

async fn browser(driver: &Driver) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,900"],
        }),
    );
    let url = format!("http://127.0.0.1:{}", driver.port);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return client,
            // chromedriver may not listen yet.
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("no WebDriver session: {error}"),
        }
    }
}

/// The text of element `id`, once `done` says it is what the test waits for.
async fn wait_for_text(client: &Client, id: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let text = match client.find(Locator::Id(id)).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if done(&text) {
            return text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "#{id} still shows `{text}`"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn screenshot_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("gateway-live-page.png")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_xp_gain_made_through_the_repository_appears_on_the_live_page() {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        eprintln!(
            "skipped: the live page's browser test needs {CHROMIUM} and {CHROMEDRIVER} \
             (Debian's chromium and chromium-driver; .ci/run installs them)"
        );
        return;
    }
    let settings = ServeSettings {
        address: SocketAddr::from(([127, 0, 0, 1], 0)),
        players: 4,
        seed: 7,
        // No match during the test: the only xp gain is the test's own.
        match_pause: Duration::from_secs(3600),
    };
    let store = MemoryStore::new();
    let serving = serve::start(store.clone(), &settings)
        .await
        .expect("the backend is served");
    let driver = Driver::start();
    let client = browser(&driver).await;
    client
        .goto(&format!("http://{}/?player=2", serving.address))
        .await
        .expect("the page loads");
    wait_for_text(&client, "status", |text| text == "live").await;
    wait_for_text(&client, "name", |text| text.contains("player 2")).await;
    assert_eq!(wait_for_text(&client, "xp", |text| text == "0").await, "0");
    // The board is followed live; what it shows until the next change is loaded once.
    let name = name_of(PlayerId(2));
    wait_for_text(&client, "leaderboard", |text| text.contains(&name)).await;

    let claimed = PlayerCommand::ClaimAchievement {
        player_id: PlayerId(2),
        achievement_id: "marathon".into(),
    };
    let committed = serving
        .players
        .execute(claimed)
        .await
        .expect("the achievement is granted");
    let xp = committed
        .events
        .iter()
        .find_map(|event| match &event.payload {
            PlayerEvent::StatsUpdated { stats, .. } => Some(stats.xp),
            _ => None,
        })
        .expect("the stats changed");
    assert!(xp > 0);
    let shown = wait_for_text(&client, "xp", |text| text == xp.to_string()).await;
    assert_eq!(shown, xp.to_string());
    wait_for_text(&client, "achievements", |text| text.contains("marathon")).await;

    let png = client.screenshot().await.expect("a screenshot");
    let path = screenshot_path();
    std::fs::create_dir_all(path.parent().expect("a folder")).expect("the folder exists");
    std::fs::write(&path, png).expect("the screenshot is saved");
    eprintln!("screenshot of the live page: {}", path.display());

    // The board is live and has had no event: a reconnect resumes it from the `after` of its
    // `subscribed`, so a change made while the page is away still shows.
    client
        .execute(
            "window.heldReconnect = null;
             const reconnect = connect;
             connect = () => { window.heldReconnect = reconnect; };
             state.socket.close();",
            Vec::new(),
        )
        .await
        .expect("the page lets go of its socket");
    wait_for_text(&client, "status", |text| text.starts_with("reconnecting")).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while client
        .execute("return window.heldReconnect === null;", Vec::new())
        .await
        .expect("runs")
        == serde_json::Value::Bool(true)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the page never tried to reconnect"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let standings = serde_json::json!({ "standings": [
        { "rank": 1, "player_id": 2, "name": "Away While It Changed", "level": 99, "xp": 98765 },
    ]});
    let changed = NewEvent::new(
        TypeName::from_static("leaderboard"),
        TypeName::from_static("leaderboard_changed"),
        1,
        Payload::encode(&standings).expect("encodes"),
    );
    store
        .append(
            &StreamId::new("leaderboard-top").expect("valid"),
            ExpectedVersion::Any,
            &[changed],
        )
        .await
        .expect("appended");
    client
        .execute(
            "const reconnect = window.heldReconnect; connect = reconnect; reconnect();",
            Vec::new(),
        )
        .await
        .expect("the page reconnects");
    wait_for_text(&client, "status", |text| text == "live").await;
    wait_for_text(&client, "leaderboard", |text| text.contains("98765")).await;

    client.close().await.expect("the browser closes");
    drop(driver);
    serving
        .stop("the test is over")
        .await
        .expect("stops cleanly");
}
