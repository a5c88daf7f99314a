//! The HTTP API as the web app uses it.

mod common;

use common::Server;
use serde_json::{Value, json};

async fn post(server: &Server, path: &str, body: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("http://{}{path}", server.addr))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("POST request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn analyze_reports_each_function() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let code = "def pairs(nums):\n    out = []\n    for a in nums:\n        for b in nums:\n            out.append((a, b))\n    return out\n";
    let body = json!({ "language": "python", "code": code }).to_string();
    let (status, report) = post(&server, "/api/analyze", &body).await;
    assert_eq!(status, 200, "{report}");
    let function = &report["functions"][0];
    assert_eq!(function["name"], "pairs");
    assert_eq!(function["complexity"], "O(n^2)");
    assert_eq!(function["max_loop_depth"], 2);
    assert!(
        function["reasons"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    );
    assert_eq!(report["top_level"]["name"], "<module>");
}

#[tokio::test]
async fn analyze_rejects_bad_requests_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let cases = [
        "{not json",
        r#"{"language": "cobol", "code": "x"}"#,
        r#"{"code": "x = 1"}"#,
        r#"[1, 2, 3]"#,
    ];
    for body in cases {
        let (status, error) = post(&server, "/api/analyze", body).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            error["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{body}: {error}"
        );
    }
    // Too large: the body (cut before it is buffered whole) or the code in it.
    let huge = json!({ "language": "python", "code": "x = 1\n".repeat(100_000) }).to_string();
    assert_eq!(post(&server, "/api/analyze", &huge).await.0, 413);
    let large = json!({ "language": "python", "code": "x = 1\n".repeat(45_000) }).to_string();
    let (status, error) = post(&server, "/api/analyze", &large).await;
    assert_eq!(status, 413, "{error}");
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|e| e.contains("at most"))
    );
    // Half-typed code still gets a report.
    let (status, report) = post(
        &server,
        "/api/analyze",
        &json!({"language": "js", "code": "function f(a) { for (const x of a) {"}).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        report["parse_errors"]
            .as_array()
            .is_some_and(|e| !e.is_empty())
    );
    // Unknown API paths are JSON 404s, not the web app.
    let (status, body) = server.get("/api/nope").await;
    assert_eq!(status, 404);
    assert!(body.contains("error"));
}
