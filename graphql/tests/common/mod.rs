//! Shared by the API's integration tests: a devnet's settings and store, the API served on a
//! free port, and a small GraphQL client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use atoll_core::settings::Settings;
use atoll_devnet::Devnet;
use atoll_graphql::auth::OperatorTokens;
use atoll_graphql::{ApiOptions, ApiState};
use atoll_store::Store;
use serde_json::{Value, json};

pub const TOKEN: &str = "test-operator-token-7f3a";

pub fn settings(net: &Devnet) -> Settings {
    let text = std::fs::read_to_string(&net.state.config_path).unwrap();
    let dir = net.state.config_path.parent().unwrap();
    let mut s = Settings::parse(&text, Vec::<(String, String)>::new(), dir).unwrap();
    s.indexer.poll_interval = Duration::from_millis(50);
    s
}

pub fn db_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("atoll.db").display())
}

pub async fn store(settings: &Settings, dir: &std::path::Path) -> Store {
    let store = Store::connect(&db_url(dir)).await.unwrap();
    store.migrate_up().await.unwrap();
    store.register_settings(settings).await.unwrap();
    store
}

/// A running API server on 127.0.0.1 and a port the OS chose.
pub struct Api {
    pub url: String,
    pub state: ApiState,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    http: reqwest::Client,
}

impl Api {
    pub async fn start(
        settings: &Settings,
        store: &Store,
        reader_url: &str,
        options: ApiOptions,
    ) -> Api {
        let reader = Store::connect_reader(reader_url, 2).await.unwrap();
        let state = ApiState::new(
            Arc::new(settings.clone()),
            store.clone(),
            reader,
            OperatorTokens::from_values(&[TOKEN]),
            options,
        )
        .await
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(atoll_graphql::serve(listener, state.clone(), shutdown));
        Api {
            url,
            state,
            stop,
            task,
            http: reqwest::Client::new(),
        }
    }

    /// POSTs `body` to `/graphql`; the status and the JSON answer.
    pub async fn post(&self, body: Vec<u8>, token: Option<&str>) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}/graphql", self.url))
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn query_as(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        let body = serde_json::to_vec(&json!({ "query": query, "variables": variables })).unwrap();
        self.post(body, token).await.1
    }

    /// A query that must succeed: its `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let v = self.query_as(query, variables, None).await;
        assert!(v.get("errors").is_none(), "{query}: {v}");
        v["data"].clone()
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let resp = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    pub async fn stop(self) {
        self.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the server drains within 10 s")
            .unwrap()
            .unwrap();
    }
}

/// The code of the first error of a GraphQL answer.
pub fn error_code(v: &Value) -> Option<&str> {
    v["errors"][0]["extensions"]["code"].as_str()
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket to `/graphql` speaking graphql-transport-ws, or the HTTP status of a refused
/// upgrade.
pub async fn try_connect(http_url: &str) -> Result<Socket, u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("{}/graphql", http_url.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let mut ws = match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => ws,
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            return Err(resp.status().as_u16());
        }
        Err(e) => panic!("websocket: {e}"),
    };
    send(&mut ws, json!({ "type": "connection_init", "payload": {} })).await;
    assert_eq!(next(&mut ws).await["type"], "connection_ack");
    Ok(ws)
}

pub async fn connect(http_url: &str) -> Socket {
    try_connect(http_url).await.expect("upgrade accepted")
}

pub async fn send(ws: &mut Socket, v: Value) {
    use futures::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        v.to_string().into(),
    ))
    .await
    .unwrap();
}

/// The next protocol message (pings answered on the way); `None` once the server closed.
pub async fn next_or_closed(ws: &mut Socket) -> Option<Value> {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    loop {
        match ws.next().await? {
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "ping" {
                    send(ws, json!({ "type": "pong" })).await;
                    continue;
                }
                return Some(v);
            }
            Ok(Message::Ping(p)) => ws.send(Message::Pong(p)).await.unwrap(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(other) => panic!("unexpected frame {other:?}"),
        }
    }
}

/// The next protocol message (pings answered on the way).
pub async fn next(ws: &mut Socket) -> Value {
    next_or_closed(ws).await.expect("socket open")
}

/// Indexes every chain of `settings` once, to its head.
pub async fn index_once(settings: &Settings, store: &Store) {
    for (chain, r) in atoll_indexer::run(
        settings,
        store,
        &[],
        atoll_indexer::Mode::Once,
        Arc::new(|_| {}),
    )
    .await
    {
        r.unwrap_or_else(|e| panic!("indexing {chain}: {e}"));
    }
}

/// The relayer running on its own task (polling every 50 ms) until [`Relayer::stop`].
pub struct Relayer {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), atoll_relayer::RelayerError>>,
}

impl Relayer {
    pub fn start(settings: &Settings, store: &Store) -> Relayer {
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(atoll_relayer::run::run(
            Arc::new(settings.clone()),
            store.clone(),
            atoll_relayer::run::RunOptions {
                poll_interval: Duration::from_millis(50),
                ..Default::default()
            },
            shutdown,
        ));
        Relayer { stop, task }
    }

    /// Lets every task finish its step; the run's own verdict.
    pub async fn stop(self) {
        self.stop.send(true).unwrap();
        self.task.await.unwrap().unwrap();
    }
}
