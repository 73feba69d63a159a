//! Logging in to the explorer with a token, in headless Chromium against
//! the real binary: once a token exists a page sends the visitor to
//! /login and back after it; a read token can look but not change (403
//! page); logging out and revoking the token both end the session.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use faultline_tests::browser::Browser;
use faultline_tests::{binary, Server};
use serde_json::Value;

fn create_token(server: &Server, with: Option<&str>, name: &str, scope: &str) -> String {
    let mut command = Command::new(binary());
    command
        .args(["token", "create", "--name", name, "--scope", scope])
        .env("FAULTLINE_SERVER", server.api_url(""))
        .env_remove("FAULTLINE_TOKEN");
    if let Some(token) = with {
        command.env("FAULTLINE_TOKEN", token);
    }
    let out = command.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn api(server: &Server, method: reqwest::Method, path: &str, token: &str) -> Value {
    let response = reqwest::blocking::Client::new()
        .request(method, server.api_url(path))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert!(response.status().is_success(), "{path}: {}", response.status());
    response.json().unwrap_or(Value::Null)
}

fn export_error(server: &Server, token: &str) {
    let body = serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331",
            "name": "POST /pay", "kind": 2,
            "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000100000000",
            "status": {"code": 2, "message": "declined"},
            "events": [{"name": "exception", "timeUnixNano": "1700000000050000000", "attributes": [
                {"key": "exception.type", "value": {"stringValue": "CardDeclined"}},
                {"key": "exception.message", "value": {"stringValue": "card declined"}}
            ]}]
        }]}]
    }]});
    let response = reqwest::blocking::Client::new()
        .post(server.http_url("/v1/traces"))
        .header("content-type", "application/json")
        .header("x-faultline-token", token)
        .body(body.to_string())
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
}

fn log_in(browser: &Browser, token: &str) {
    let field = browser.find("#token");
    field.clear();
    field.type_text(token);
    browser.find("#login").click();
}

#[test]
fn ui_auth_login_with_a_token_read_scope_looks_logout_and_revoke_end_the_session() {
    let server = Server::start();
    let admin = create_token(&server, None, "ops", "admin");
    let read = create_token(&server, Some(&admin), "viewer", "read");
    export_error(&server, &admin);
    let groups = api(&server, reqwest::Method::GET, "/api/v1/groups", &admin);
    let id = groups["groups"][0]["id"].as_u64().unwrap();
    let issue = server.api_url(&format!("/issues/{id}"));

    let browser = Browser::start();
    browser.goto(&issue);
    browser.wait_until("the login page", || browser.current_url().contains("/login?next="));
    browser.screenshot("login");
    log_in(&browser, "fl_not-a-token");
    let error = browser.find("#login-error").text();
    assert!(error.contains("not valid"), "{error}");
    log_in(&browser, &read);
    browser.wait_until("back on the issue", || browser.current_url() == issue);
    let text = browser.find("body").text();
    assert!(text.contains("CardDeclined"), "{text}");
    let cookies = browser.execute_script("return document.cookie", vec![]);
    assert!(!cookies.as_str().unwrap_or("").contains("faultline_session"), "HttpOnly: {cookies}");

    // Read scope looks but does not change.
    browser.find("button[value='resolved']").click();
    browser.wait_until("the refusal", || browser.text_of("body").is_some_and(|t| t.contains("Not allowed")));
    browser.screenshot("read-refused");
    let group = api(&server, reqwest::Method::GET, &format!("/api/v1/groups/{id}"), &admin);
    assert_eq!(group["status"], "unresolved", "{group}");

    // Logging out (from any page's navigation) ends the session.
    browser.goto(&server.api_url("/login"));
    assert!(browser.find("#signed-in").text().contains("viewer"));
    browser.goto(&issue);
    assert!(browser.find("form.signed-in").text().contains("viewer"));
    browser.screenshot("signed-in");
    browser.find("#nav-logout").click();
    browser.wait_until("the login page after logout", || browser.current_url().contains("/login"));
    browser.goto(&issue);
    browser.wait_until("the login page again", || browser.current_url().contains("/login"));

    // An admin can change things; revoking its token ends its session at once.
    log_in(&browser, &admin);
    browser.wait_until("back on the issue", || browser.current_url() == issue);
    browser.find("button[value='resolved']").click();
    browser.wait_until("resolved", || {
        api(&server, reqwest::Method::GET, &format!("/api/v1/groups/{id}"), &read)["status"] == "resolved"
    });
    let tokens = api(&server, reqwest::Method::GET, "/api/v1/tokens", &admin);
    let admin_id = tokens["tokens"].as_array().unwrap().iter().find(|t| t["name"] == "ops").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    api(&server, reqwest::Method::DELETE, &format!("/api/v1/tokens/{admin_id}"), &admin);
    browser.goto(&issue);
    browser.wait_until("sent to log in after revocation", || browser.current_url().contains("/login"));
    browser.screenshot("revoked");
}
