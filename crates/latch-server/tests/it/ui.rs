//! The browser pages over plain HTTP: enroll, sign in, approve a CLI
//! sign-in; CSRF and cross-origin posts refused; no open redirects.

use reqwest::header::{LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};

use crate::support::{TestApp, PASSWORD};

fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn csrf_field(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
    html[at..at + 64].to_owned()
}

async fn pages_walk_a_person_through_enroll_sign_in_and_approval(app: TestApp) {
    let b = browser();
    let url = |p: &str| format!("{}{p}", app.url);
    let page = b.get(url(&format!("/enroll?org=acme&token={}", app.first.token))).send().await.unwrap();
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    let html = page.text().await.unwrap();
    assert!(html.contains("name=\"token\""));
    let mismatch = b
        .post(url("/enroll"))
        .form(&[("org", "acme"), ("token", app.first.token.as_str()), ("password", PASSWORD), ("confirm", "something else entirely")])
        .send()
        .await
        .unwrap();
    assert_eq!(mismatch.status(), StatusCode::BAD_REQUEST);
    let enrolled = b
        .post(url("/enroll"))
        .form(&[("org", "acme"), ("token", app.first.token.as_str()), ("password", PASSWORD), ("confirm", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(enrolled.status(), StatusCode::SEE_OTHER);
    let cookie = enrolled.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let home = b.get(url("/")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("admin@acme.io"), "{home}");

    // Sign out, then a CLI sign-in sends the person through the login page.
    let csrf = csrf_field(&home);
    assert_eq!(b.post(url("/logout")).form(&[("csrf", csrf.as_str())]).send().await.unwrap().status(), StatusCode::SEE_OTHER);
    let (_, code) = app.anon().form("/v1/orgs/acme/device/code", &[("client_id", "latch-cli"), ("client_name", "build-box")]).await;
    let verify = code["verification_uri_complete"].as_str().unwrap().strip_prefix(&app.url).unwrap().to_owned();
    let to_login = b.get(url(&verify)).send().await.unwrap();
    assert_eq!(to_login.status(), StatusCode::SEE_OTHER);
    let login_path = to_login.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(login_path.starts_with("/login?org=acme&next=%2Fdevice"), "{login_path}");
    let signed = b
        .post(url("/login"))
        .form(&[("org", "acme"), ("email", "admin@acme.io"), ("password", PASSWORD), ("next", verify.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed.headers()[LOCATION].to_str().unwrap(), verify);
    let approve_page = b.get(url(&verify)).send().await.unwrap().text().await.unwrap();
    let uc = code["user_code"].as_str().unwrap();
    assert!(approve_page.contains(uc) && approve_page.contains("build-box"), "{approve_page}");

    // A forged decision (wrong CSRF field) is refused…
    let forged = b.post(url("/device")).form(&[("csrf", "0".repeat(64).as_str()), ("user_code", uc), ("decision", "approve")]).send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    // …the real one works, and the CLI gets its tokens.
    let csrf = csrf_field(&approve_page);
    let ok = b.post(url("/device")).form(&[("csrf", csrf.as_str()), ("user_code", uc), ("decision", "approve")]).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let (status, tokens) = app
        .anon()
        .form("/v1/orgs/acme/token", &[("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("device_code", code["device_code"].as_str().unwrap()), ("client_id", "latch-cli")])
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
}

async fn forms_refuse_other_origins_and_foreign_redirects(app: TestApp) {
    let _admin = app.admin().await;
    let b = browser();
    let cross = b
        .post(format!("{}/login", app.url))
        .header("origin", "https://evil.example")
        .form(&[("org", "acme"), ("email", "admin@acme.io"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let open = b
        .post(format!("{}/login", app.url))
        .form(&[("org", "acme"), ("email", "admin@acme.io"), ("password", PASSWORD), ("next", "//evil.example/steal")])
        .send()
        .await
        .unwrap();
    assert_eq!(open.status(), StatusCode::SEE_OTHER);
    assert_eq!(open.headers()[LOCATION], "/");
    let bad = b
        .post(format!("{}/login", app.url))
        .form(&[("org", "acme"), ("email", "admin@acme.io"), ("password", "not the password")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    let html = bad.text().await.unwrap();
    assert!(html.contains("the email, password or code is wrong"), "{html}");
    // Escaping: user input is never rendered as markup.
    let page = b.get(format!("{}/login?org=%3Cscript%3E", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("&lt;script&gt;") && !page.contains("<script>"));
    let _ = app.anon().call(Method::GET, "/healthz", None).await;
}

crate::both_engines!(pages_walk_a_person_through_enroll_sign_in_and_approval, forms_refuse_other_origins_and_foreign_redirects);
