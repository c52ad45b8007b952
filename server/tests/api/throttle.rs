//! Login under attack: guesses at one account or from one address are
//! throttled with growing backoff (429, `Retry-After`, the error shape), an
//! unknown email is throttled and timed like a known one, and a flood at one
//! account leaves other users' logins alone. The flood prints its figures;
//! nothing here asserts a time or a size as an exact number.

use std::{
    net::{IpAddr, Ipv4Addr},
    time::{Duration, Instant},
};

use reqwest::{Response, StatusCode};
use serde_json::json;

use crate::helpers::{assert_error, spawn_app, TestApp};

/// A client whose connections come from `127.0.0.N`: another "address" on
/// the loopback, so a flood and a legitimate user can be told apart.
fn client_from(n: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
        .build()
        .unwrap()
}

async fn login_from(app: &TestApp, client: &reqwest::Client, email: &str, pw: &str) -> Response {
    client
        .post(app.url("/v1/auth/login"))
        .json(&json!({"email": email, "password": pw}))
        .send()
        .await
        .unwrap()
}

fn retry_after(response: &Response) -> u64 {
    response
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Wrong passwords at `email`, one after another, until one is refused;
/// returns how many were answered 401 first and the refusal.
async fn guess_until_throttled(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
) -> (usize, Response) {
    for answered in 0..30 {
        let response = login_from(app, client, email, "wrong").await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            return (answered, response);
        }
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    panic!("30 wrong passwords at {email} and no 429");
}

#[tokio::test]
async fn repeated_wrong_passwords_are_throttled_known_email_or_not() {
    let app = spawn_app().await;
    for (n, email) in [(2, "manager@demo.test"), (3, "ghost@demo.test")] {
        let (answered, refused) = guess_until_throttled(&app, &client_from(n), email).await;
        // Five free failures; the lock may lapse while a slow hash runs,
        // so allow a few more before the first 429.
        assert!((5..=12).contains(&answered), "{email}: {answered}");
        assert!(retry_after(&refused) >= 1);
        assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    }
    // Neither touched the owner's login.
    assert_eq!(
        app.login_response("owner@demo.test", "demo").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn one_address_guessing_at_many_accounts_is_throttled() {
    let app = spawn_app().await;
    let attacker = client_from(4);
    let mut first_refusal = None;
    for i in 0..60 {
        let response = login_from(&app, &attacker, &format!("user{i}@demo.test"), "x").await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            first_refusal = Some((i, response));
            break;
        }
    }
    let (i, refused) = first_refusal.expect("the address is throttled");
    assert!(
        i >= 20,
        "twenty free failures per address, refused after {i}"
    );
    assert!(retry_after(&refused) >= 1);
    assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    // Another address signs in.
    let ok = login_from(&app, &client_from(5), "owner@demo.test", "demo").await;
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_success_clears_the_accounts_failures() {
    let app = spawn_app().await;
    let client = client_from(6);
    for _ in 0..4 {
        let r = login_from(&app, &client, "accountant@demo.test", "wrong").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = login_from(&app, &client, "accountant@demo.test", "demo").await;
    assert_eq!(r.status(), StatusCode::OK);
    for _ in 0..4 {
        let r = login_from(&app, &client, "accountant@demo.test", "wrong").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "free failures again");
    }
}

#[tokio::test]
async fn an_unknown_email_takes_about_as_long_as_a_wrong_password() {
    let app = spawn_app().await;
    let median = |mut times: Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..4 {
        for (email, times) in [
            ("staff@demo.test", &mut known),
            (&*format!("nobody{i}@demo.test"), &mut unknown),
        ] {
            let client = client_from(10 + i);
            let started = Instant::now();
            let r = login_from(&app, &client, email, "wrong").await;
            times.push(started.elapsed());
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        }
    }
    let (known, unknown) = (median(known), median(unknown));
    println!("login with a wrong password: median {known:?}; with an unknown email: {unknown:?}");
    // Without the dummy hash an unknown email answers ~50x faster.
    assert!(
        unknown * 4 >= known,
        "unknown {unknown:?} vs known {known:?}"
    );
}

#[tokio::test]
async fn a_flood_at_one_account_leaves_a_colleagues_login_alone() {
    const FLOOD: usize = 400;
    let app = spawn_app().await;
    let attacker = client_from(7);
    let started = Instant::now();
    let flood: Vec<_> = (0..FLOOD)
        .map(|_| {
            let request = attacker
                .post(app.url("/v1/auth/login"))
                .json(&json!({"email": "manager@demo.test", "password": "guess"}));
            tokio::spawn(async move {
                let response = request.send().await.unwrap();
                let status = response.status();
                let has_retry = response.headers().contains_key("retry-after");
                let body: serde_json::Value = response.json().await.unwrap();
                (status, has_retry, body)
            })
        })
        .collect();
    // The colleague signs in while the flood is on.
    let legit_started = Instant::now();
    let legit = app.login_response("owner@demo.test", "demo").await;
    let legit_latency = legit_started.elapsed();
    assert_eq!(legit.status(), StatusCode::OK);

    let (mut unauthorized, mut throttled) = (0, 0);
    for answer in flood {
        let (status, has_retry, body) = answer.await.unwrap();
        assert!(body["error"]["code"].is_string(), "{body}");
        match status {
            StatusCode::UNAUTHORIZED => unauthorized += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(has_retry);
                throttled += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    let elapsed = started.elapsed();
    println!(
        "login flood: {FLOOD} wrong passwords at one account in {elapsed:?} ({:.0}/s): \
         {unauthorized}x 401, {throttled}x 429; a colleague's login meanwhile took {legit_latency:?}",
        FLOOD as f64 / elapsed.as_secs_f64()
    );
    // Hashes are what cost; at most a handful ran.
    assert!(unauthorized <= 10, "{unauthorized} guesses were checked");
}
