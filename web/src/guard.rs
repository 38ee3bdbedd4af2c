//! What every request passes before a handler sees it: the host check (DNS rebinding) and
//! the cross-site check (CSRF).
//!
//! A browser sends a cross-site request without asking first only when it is "simple":
//! `GET`, `HEAD` or `POST` with a form or text body. So a request that changes something
//! must be `POST` with a JSON body, or `DELETE`; the browser asks first (a CORS preflight)
//! for those, and this server never says yes. On top of that, such a request whose `Origin`
//! is not this server, or whose `Sec-Fetch-Site` says another site, is refused. Requests
//! from tools (curl, scripts) send neither header and pass; reading (`GET`) is never
//! refused, so links from elsewhere open pages.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::Web;
use crate::api::error::ApiError;

/// Checks `request` and runs the rest, or refuses it.
pub(crate) async fn check(State(web): State<Arc<Web>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    if web.options.loopback_hosts_only
        && let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok())
        && !is_loopback_host(host)
    {
        return ApiError::forbidden(
            "BadHost",
            format!(
                "this server answers to loopback names only (localhost, 127.0.0.1, [::1]), not {host:?}; bind it with --http-address to serve other names"
            ),
        )
        .into_response();
    }
    if let Err(refusal) = same_site(request.method(), headers) {
        return ApiError::forbidden("CrossSiteRequest", refusal).into_response();
    }
    next.run(request).await
}

/// Whether `host` (a `Host` header: a name or address with an optional port) is a
/// loopback name.
pub fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        // `[::1]:8233`
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(name, _port)| name)
    };
    let name = name.to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// Whether a request may act: refused with the reason if a browser could have sent it from
/// another site.
pub fn same_site(method: &Method, headers: &HeaderMap) -> Result<(), String> {
    // Reading is not acting: a link from elsewhere opens a page, and a script on another
    // site cannot read the answer (no CORS header is ever sent).
    if matches!(*method, Method::GET | Method::HEAD) {
        return Ok(());
    }
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site"))
        && !matches!(site, "same-origin" | "none")
    {
        return Err(format!(
            "a request from another site ({site}) cannot use this server; open the UI itself"
        ));
    }
    if let Some(origin) = text(header::ORIGIN) {
        let host = text(header::HOST).unwrap_or_default();
        let same = origin
            .split_once("://")
            .is_some_and(|(_scheme, authority)| authority.eq_ignore_ascii_case(host));
        if !same {
            return Err(format!(
                "a request from {origin} cannot use this server (it is {host}); open the UI itself"
            ));
        }
    }
    if *method == Method::POST || *method == Method::PUT || *method == Method::PATCH {
        let json = text(header::CONTENT_TYPE).is_some_and(|kind| {
            kind.split(';')
                .next()
                .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
        });
        if !json {
            return Err(format!(
                "{method} needs a JSON body: send Content-Type: application/json"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn loopback_names_only() {
        for host in [
            "localhost",
            "localhost:8233",
            "127.0.0.1:8233",
            "127.0.0.2",
            "[::1]:8233",
            "ui.localhost:1",
            "LOCALHOST",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example:8233",
            "10.0.0.1",
            "localhost.evil.example",
            "[2001:db8::1]:80",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn tools_and_the_ui_itself_may_act() {
        let json = headers(&[("content-type", "application/json; charset=utf-8")]);
        assert_eq!(same_site(&Method::POST, &json), Ok(()));
        assert_eq!(same_site(&Method::DELETE, &HeaderMap::new()), Ok(()));
        assert_eq!(same_site(&Method::GET, &HeaderMap::new()), Ok(()));
        let ui = headers(&[
            ("content-type", "application/json"),
            ("origin", "http://127.0.0.1:8233"),
            ("host", "127.0.0.1:8233"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert_eq!(same_site(&Method::POST, &ui), Ok(()));
    }

    #[test]
    fn cross_site_requests_are_refused() {
        // A form another site submits: simple content type.
        let form = headers(&[("content-type", "application/x-www-form-urlencoded")]);
        assert!(same_site(&Method::POST, &form).is_err());
        assert!(same_site(&Method::POST, &HeaderMap::new()).is_err());
        let other_origin = headers(&[
            ("content-type", "application/json"),
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:8233"),
        ]);
        assert!(same_site(&Method::POST, &other_origin).is_err());
        let other_site = headers(&[("sec-fetch-site", "cross-site")]);
        assert!(same_site(&Method::DELETE, &other_site).is_err());
        // A link followed from elsewhere still opens a page.
        assert_eq!(same_site(&Method::GET, &other_site), Ok(()));
    }
}
