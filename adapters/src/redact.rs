//! One place that takes RPC URLs out of text both adapters pass on: transport errors quote the
//! full URL (reqwest: "error sending request for url (…)"), and a provider's path, query or
//! password is often its API key. Only the endpoint's label (scheme, host, port) may remain.

use url::Url;

/// `text` with every trace of `url` replaced: the whole URL by `label`, then its path, query
/// and password wherever they still appear.
pub fn redact_url(text: &str, url: &Url, label: &str) -> String {
    let mut text = text.replace(url.as_str(), label);
    // `Url` adds a trailing slash to a bare host; users write it without one.
    let bare = url.as_str().trim_end_matches('/');
    if bare.len() > label.len() {
        text = text.replace(bare, label);
    }
    let path = url.path();
    if path.len() > 1 {
        text = text.replace(path, "/…");
    }
    if let Some(password) = url.password() {
        text = text.replace(password, "***");
    }
    if let Some(query) = url.query() {
        text = text.replace(query, "…");
    }
    if !url.username().is_empty() {
        text = text.replace(url.username(), "***");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_of_a_secret_url_goes() {
        let url: Url = "https://user:hunter2@rpc.example.com:8443/v2/KEY123?api-key=SECRET9"
            .parse()
            .unwrap();
        let label = "https://rpc.example.com:8443";
        for text in [
            format!("error sending request for url ({url})"),
            "POST /v2/KEY123?api-key=SECRET9 failed".to_string(),
            "auth user:hunter2 refused; api-key=SECRET9".to_string(),
        ] {
            let out = redact_url(&text, &url, label);
            for secret in ["KEY123", "SECRET9", "hunter2", "user:"] {
                assert!(!out.contains(secret), "{secret} left in {out}");
            }
        }
    }
}
