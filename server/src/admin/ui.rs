//! The Admin UI's built page (`@socket.io/admin-ui`'s `ui/dist`, installed by `npm ci` in
//! web-client/) at `/admin-ui/`.
//!
//! The page names its scripts and styles by relative paths (`js/app.….js`), so it works under
//! any folder as long as it is loaded from a URL ending in `/`: `/admin-ui` redirects to
//! `/admin-ui/`, and the rest is served from the folder with the prefix taken off.

use std::path::{Path, PathBuf};

use axum::{
    Router,
    extract::{Request, State},
    http::Uri,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// Where the page is served.
pub const PREFIX: &str = "/admin-ui";

/// The routes of the page, or none (with a warning) when its folder is missing.
pub fn routes(dir: &Path) -> Router {
    if !dir.join("index.html").is_file() {
        tracing::warn!(
            dir = %dir.display(),
            "no Admin UI page at /admin-ui/: run `npm ci` in web-client/ (or set --admin-ui-dir)"
        );
        return Router::new();
    }
    let dir = dir.to_path_buf();
    Router::new()
        .route(PREFIX, get(|| async { Redirect::permanent("/admin-ui/") }))
        .route("/admin-ui/", get(asset))
        .route("/admin-ui/{*path}", get(asset))
        .with_state(dir)
}

/// One file of the page, the prefix taken off its path.
async fn asset(State(dir): State<PathBuf>, mut req: Request) -> Response {
    let inner = strip(req.uri());
    match inner.parse::<Uri>() {
        Ok(uri) => *req.uri_mut() = uri,
        Err(_) => return axum::http::StatusCode::BAD_REQUEST.into_response(),
    }
    match ServeDir::new(dir).oneshot(req).await {
        Ok(res) => res.into_response(),
        Err(never) => match never {},
    }
}

/// The path and query below [`PREFIX`] (`/` for the page itself).
fn strip(uri: &Uri) -> String {
    let pq = uri.path_and_query().map_or("/", |pq| pq.as_str());
    match pq.strip_prefix(PREFIX) {
        Some(rest) if rest.starts_with('/') => rest.to_owned(),
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{body::Body, http::StatusCode};

    #[test]
    fn the_prefix_is_taken_off() {
        let strip = |s: &str| strip(&s.parse::<Uri>().expect("uri"));
        assert_eq!(strip("/admin-ui/"), "/");
        assert_eq!(strip("/admin-ui/js/app.js?v=1"), "/js/app.js?v=1");
    }

    #[tokio::test]
    async fn the_page_is_served_under_the_prefix_and_the_bare_prefix_redirects() {
        let dir = std::env::temp_dir().join(format!("admin-ui-{}", crate::ids::new_id("", 8)));
        std::fs::create_dir_all(dir.join("js")).expect("dir");
        std::fs::write(
            dir.join("index.html"),
            "<script src=\"js/app.js\"></script>",
        )
        .expect("w");
        std::fs::write(dir.join("js/app.js"), "ok()").expect("w");
        let app = routes(&dir);
        let get = |path: &str| {
            Request::builder()
                .uri(path)
                .body(Body::empty())
                .expect("request")
        };
        let res = app.clone().oneshot(get("/admin-ui")).await.expect("res");
        assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(res.headers()["location"], "/admin-ui/");
        let res = app.clone().oneshot(get("/admin-ui/")).await.expect("res");
        assert_eq!(res.status(), StatusCode::OK);
        let res = app
            .clone()
            .oneshot(get("/admin-ui/js/app.js"))
            .await
            .expect("res");
        assert_eq!(res.status(), StatusCode::OK);
        let res = app
            .oneshot(get("/admin-ui/../Cargo.toml"))
            .await
            .expect("res");
        assert_ne!(res.status(), StatusCode::OK);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[tokio::test]
    async fn without_the_folder_there_is_no_page() {
        let req = Request::builder()
            .uri("/admin-ui/")
            .body(Body::empty())
            .expect("request");
        let res = routes(Path::new("/nonexistent/admin-ui"))
            .oneshot(req)
            .await
            .expect("res");
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
}
