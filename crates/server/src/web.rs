//! The browser app, built into `web/dist` and embedded in the binary (read from disk in
//! debug builds). Unknown paths get `index.html` so client-side routes like `/r/{room}` work.
//!
//! `vite build` writes a Brotli (`.br`) and a gzip (`.gz`) copy beside each large asset
//! (web/vite.config.ts, `precompress`); a client that accepts one gets it with
//! `Content-Encoding`, so nothing is compressed at request time. Hashed assets under
//! `/assets/` are cached for a year (their name changes with their content); the rest is
//! revalidated on every load.

use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};

#[derive(rust_embed::Embed)]
#[folder = "../../web/dist"]
#[allow_missing = true]
struct Assets;

const NOT_BUILT: &str = "<!doctype html><title>PeerCode</title><h1>PeerCode</h1>\
<p>The web app is not built into this binary. Run <code>scripts/serve</code> \
(or <code>npm --prefix web ci &amp;&amp; npm --prefix web run build</code> and rebuild).</p>";

/// Hashed file names: safe to keep for a year.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The precompressed copies `vite build` writes, best first: (encoding, file suffix).
const ENCODINGS: [(&str, &str); 2] = [("br", ".br"), ("gzip", ".gz")];

pub async fn static_file(uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    let accepted = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Some(file) = Assets::get(path).filter(|_| !path.is_empty()) {
        let cache = if path.starts_with("assets/") {
            IMMUTABLE
        } else {
            "no-cache"
        };
        let mime = file.metadata.mimetype().to_owned();
        let mut response = match precompressed(path, accepted, Assets::get) {
            Some((encoding, body)) => {
                let mut r = body.data.into_response();
                r.headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
                r
            }
            None => file.data.into_response(),
        };
        let h = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&mime) {
            h.insert(header::CONTENT_TYPE, v);
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        if has_precompressed(path, Assets::get) {
            // Caches must key the response on what the client accepts.
            h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
        return response;
    }
    if path.starts_with("assets/") {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    match Assets::get("index.html") {
        Some(index) => ([(header::CACHE_CONTROL, "no-cache")], Html(index.data)).into_response(),
        None => Html(NOT_BUILT).into_response(),
    }
}

/// The best precompressed copy of `path` that the client accepts, if there is one.
fn precompressed<F, T>(path: &str, accept_encoding: &str, get: F) -> Option<(&'static str, T)>
where
    F: Fn(&str) -> Option<T>,
{
    ENCODINGS.iter().find_map(|&(encoding, suffix)| {
        if !accepts(accept_encoding, encoding) {
            return None;
        }
        get(&format!("{path}{suffix}")).map(|f| (encoding, f))
    })
}

fn has_precompressed<F, T>(path: &str, get: F) -> bool
where
    F: Fn(&str) -> Option<T>,
{
    ENCODINGS
        .iter()
        .any(|(_, suffix)| get(&format!("{path}{suffix}")).is_some())
}

/// Whether an `Accept-Encoding` value accepts `encoding` (a `q=0` refuses it; `*` accepts
/// anything not named).
fn accepts(accept_encoding: &str, encoding: &str) -> bool {
    let mut wildcard = None;
    for item in accept_encoding.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if name.eq_ignore_ascii_case(encoding) {
            return q > 0.0;
        }
        if name == "*" {
            wildcard = Some(q > 0.0);
        }
    }
    wildcard.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_is_parsed_with_its_weights() {
        assert!(accepts("gzip, deflate, br, zstd", "br"));
        assert!(accepts("gzip, deflate, br, zstd", "gzip"));
        assert!(accepts("GZIP", "gzip"));
        assert!(accepts("deflate, gzip;q=0.5", "gzip"));
        assert!(!accepts("gzip;q=0, br", "gzip"));
        assert!(!accepts("identity", "gzip"));
        assert!(!accepts("", "gzip"));
        assert!(accepts("*", "br"));
        assert!(!accepts("*;q=0", "br"));
        assert!(!accepts("br;q=0, *", "br"));
    }

    #[test]
    fn the_best_accepted_copy_is_chosen() {
        let files = ["a.js", "a.js.br", "a.js.gz", "b.js", "b.js.gz"];
        let get = |p: &str| files.contains(&p).then(|| p.to_owned());
        assert_eq!(
            precompressed("a.js", "gzip, br", get),
            Some(("br", "a.js.br".to_owned()))
        );
        assert_eq!(
            precompressed("a.js", "gzip", get),
            Some(("gzip", "a.js.gz".to_owned()))
        );
        assert_eq!(
            precompressed("b.js", "br, gzip", get),
            Some(("gzip", "b.js.gz".to_owned()))
        );
        assert_eq!(precompressed("a.js", "identity", get), None);
        assert_eq!(precompressed("c.js", "br, gzip", get), None);
        assert!(has_precompressed("a.js", get));
        assert!(!has_precompressed("c.js", get));
    }

    /// Against the real build, when there is one: the big room script goes out compressed.
    #[tokio::test]
    async fn a_large_asset_is_served_compressed_when_accepted() {
        let Some(big) = Assets::iter()
            .filter(|p| p.starts_with("assets/") && p.ends_with(".js"))
            .max_by_key(|p| Assets::get(p).map_or(0, |f| f.data.len()))
        else {
            eprintln!("web/dist is not built: skipping the check against the real assets");
            return;
        };
        let uri: Uri = format!("/{big}").parse().expect("an asset path is a URI");
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate"),
        );
        let r = static_file(uri.clone(), headers).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CONTENT_ENCODING], "gzip", "{big}");
        assert_eq!(r.headers()[header::CACHE_CONTROL], IMMUTABLE);
        assert_eq!(r.headers()[header::VARY], "accept-encoding");
        assert!(
            r.headers()[header::CONTENT_TYPE]
                .to_str()
                .is_ok_and(|t| t.contains("javascript")),
            "the type is the asset's, not the copy's"
        );
        let plain = static_file(uri, HeaderMap::new()).await;
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    }
}
