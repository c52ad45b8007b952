use ledgerline_wire::{LoginResponse, PropertyInfo, Role};
use reqwest::StatusCode;

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn login_returns_token_user_org_and_all_properties() {
    let app = spawn_app().await;
    let response = app.login_response("owner@demo.test", "demo").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: LoginResponse = response.json().await.unwrap();
    assert!(body.token.len() >= 32);
    assert!(body.expires_at > chrono::Utc::now() + chrono::TimeDelta::days(6));
    assert_eq!(body.user.email, "owner@demo.test");
    assert_eq!(body.user.role, Role::Owner);
    assert!(!body.user.name.is_empty());
    assert!(!body.user.id.is_empty());
    assert_eq!(body.org.name, "Demo Hotels");
    assert_eq!(body.properties.len(), 5);
    assert_eq!(body.properties[0].name, "Demo Hotel Amsterdam");

    let rival = app.login_response("owner@rival.test", "demo").await;
    let rival: LoginResponse = rival.json().await.unwrap();
    assert_eq!(rival.org.name, "Rival Inns");
    assert_ne!(rival.org.id, body.org.id);
}

#[tokio::test]
async fn staff_login_lists_only_the_first_property() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let body: LoginResponse = app
        .login_response("staff@demo.test", "demo")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body.user.role, Role::Staff);
    assert_eq!(body.properties.len(), 1);
    assert_eq!(body.properties[0].id, owner.properties[0]);

    let listed: Vec<PropertyInfo> = app
        .get("/v1/properties", &body.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed, body.properties);
}

#[tokio::test]
async fn every_demo_role_can_sign_in() {
    let app = spawn_app().await;
    for (email, role) in [
        ("owner@demo.test", Role::Owner),
        ("manager@demo.test", Role::Manager),
        ("accountant@demo.test", Role::Accountant),
        ("staff@demo.test", Role::Staff),
    ] {
        let body: LoginResponse = app
            .login_response(email, "demo")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(body.user.role, role, "{email}");
    }
}

#[tokio::test]
async fn wrong_password_or_unknown_email_is_401() {
    let app = spawn_app().await;
    let wrong = app.login_response("owner@demo.test", "nope").await;
    assert_error(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let unknown = app.login_response("ghost@demo.test", "demo").await;
    assert_error(unknown, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

#[tokio::test]
async fn missing_malformed_or_unknown_tokens_are_401() {
    let app = spawn_app().await;
    let none = app
        .client
        .get(app.url("/v1/properties"))
        .send()
        .await
        .unwrap();
    assert_error(none, StatusCode::UNAUTHORIZED, "unauthorized").await;
    for token in [
        "short",
        "has spaces in it and more",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ] {
        let response = app.get("/v1/properties", token).await;
        assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    let basic = app
        .client
        .get(app.url("/v1/properties"))
        .header("authorization", "Basic b3duZXI6ZGVtbw==")
        .send()
        .await
        .unwrap();
    assert_error(basic, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn logout_revokes_the_token_and_only_that_token() {
    let app = spawn_app().await;
    let first = app.login("owner@demo.test").await;
    let second = app.login("owner@demo.test").await;
    let response = app.post("/v1/auth/logout", &first.token).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let after = app.get("/v1/properties", &first.token).await;
    assert_error(after, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let again = app.post("/v1/auth/logout", &first.token).await;
    assert_error(again, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(
        app.get("/v1/properties", &second.token).await.status(),
        StatusCode::OK
    );
    let revoked: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NOT NULL")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(revoked, 1);
}

#[tokio::test]
async fn expired_token_is_401() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    sqlx::query("UPDATE sessions SET expires_at = 0")
        .execute(&app.db)
        .await
        .unwrap();
    let response = app.get("/v1/properties", &owner.token).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn tokens_are_stored_only_hashed() {
    let app = spawn_app().await;
    let owner = app.login("owner@demo.test").await;
    let hashes: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM sessions")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(hashes.len(), 1);
    assert_ne!(hashes[0], owner.token);
    assert_eq!(hashes[0].len(), 64);
    let stored: String = sqlx::query_scalar("SELECT password_hash FROM users LIMIT 1")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(stored.starts_with("$argon2"));
}

#[tokio::test]
async fn expired_and_revoked_sessions_are_pruned() {
    let mut app = spawn_app().await;
    let live = app.login("owner@demo.test").await;
    let expired = app.login("manager@demo.test").await;
    let revoked = app.login("accountant@demo.test").await;
    sqlx::query("UPDATE sessions SET expires_at = 0 WHERE user_id = $1")
        .bind(&expired.user_id)
        .execute(&app.db)
        .await
        .unwrap();
    let response = app.post("/v1/auth/logout", &revoked.token).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // A revocation is kept a few minutes (the fleet reads recent ones):
    // date this one back past that.
    sqlx::query("UPDATE sessions SET revoked_at = 1 WHERE user_id = $1")
        .bind(&revoked.user_id)
        .execute(&app.db)
        .await
        .unwrap();
    // The retention task prunes when the server starts, then periodically.
    app.restart().await;
    let users = || async {
        sqlx::query_scalar::<_, String>("SELECT user_id FROM sessions")
            .fetch_all(&app.db)
            .await
            .unwrap()
    };
    crate::helpers::eventually("dead sessions pruned", || async {
        users().await.len() == 1
    })
    .await;
    assert_eq!(users().await, std::slice::from_ref(&live.user_id));
    assert_eq!(
        app.get("/v1/properties", &live.token).await.status(),
        StatusCode::OK
    );
}
