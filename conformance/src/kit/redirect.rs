//! Redirects back to a client, read as the RFCs write them: `Location` may be relative
//! and is resolved against the request's URL (RFC 9110 §10.2.2, RFC 3986 §5); an
//! authorization answer's parameters are in the query, or in the fragment where the
//! request's response type uses it (RFC 6749 §4.2.2.1, `response_type=token`). And the
//! error redirect every family's authorization errors take (RFC 6749 §4.1.2.1).

use url::Url;

use crate::client::Resp;
use crate::outcome::Problem;

/// A redirect back to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// Scheme, host, port and path: what is compared with the registered redirect URI.
    pub base: String,
    /// The parameters, the query's first, then the fragment's where they count.
    pub params: Vec<(String, String)>,
    pub url: Url,
}

impl Redirect {
    /// Reads `url`; the fragment's parameters count too when `fragment` (an answer to a
    /// request whose response type puts them there).
    pub fn read(url: Url, fragment: bool) -> Redirect {
        let mut params: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if fragment && let Some(f) = url.fragment() {
            params.extend(
                url::form_urlencoded::parse(f.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned())),
            );
        }
        Redirect {
            base: format!("{}{}", url.origin().ascii_serialization(), url.path()),
            params,
            url,
        }
    }

    /// The redirect an answer gives: its `Location` resolved against the request's URL,
    /// the fragment read where the request's `response_type` uses one.
    pub fn of(resp: &Resp) -> Result<Redirect, Problem> {
        let url = resp.location()?;
        Ok(Redirect::read(url, uses_fragment(&resp.ex.req.path)))
    }

    /// A parameter by name (the first, if repeated).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// What is wrong with this as an error redirect to `redirect_uri` with
    /// `error=code`, `state` and no `code`, if anything; a failure cites `clause`.
    pub fn error_says(
        &self,
        clause: &str,
        redirect_uri: &str,
        code: &str,
        state: &str,
    ) -> Result<(), String> {
        if self.base != redirect_uri {
            return Err(format!(
                "{clause}: the error redirect goes to {}, not the registered {redirect_uri}",
                self.base
            ));
        }
        if self.param("error") != Some(code) {
            return Err(format!(
                "{clause}: the error redirect carries error={:?}, expected `{code}`",
                self.param("error")
            ));
        }
        if self.param("state") != Some(state) {
            return Err(format!(
                "{clause}: the error redirect does not echo `state` (got {:?})",
                self.param("state")
            ));
        }
        if self.param("code").is_some() {
            return Err(format!(
                "{clause}: the error redirect carries a `code` as well"
            ));
        }
        Ok(())
    }
}

/// Whether an authorize request's `response_type` puts its answer in the fragment (the
/// implicit grant's `token`, RFC 6749 §4.2.2; OpenID's `id_token` alike). Reads a path
/// with its query, or a transcript's request line (`→ GET /authorize?…`).
pub fn uses_fragment(path_and_query: &str) -> bool {
    let Some((_, query)) = path_and_query.split_once('?') else {
        return false;
    };
    url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == "response_type")
        .any(|(_, v)| v.split(' ').any(|t| t == "token" || t == "id_token"))
}

/// Fails unless `resp` is an error redirect (a status in `statuses`) to `redirect_uri`
/// with `error=code`, `state` echoed and no `code` (RFC 6749 §4.1.2.1); answers it. A
/// failure cites `clause`.
pub fn error_redirect(
    resp: &Resp,
    statuses: &[u16],
    clause: &str,
    redirect_uri: &str,
    code: &str,
    state: &str,
) -> Result<Redirect, Problem> {
    if !statuses.contains(&resp.status()) {
        let allowed: Vec<String> = statuses.iter().map(u16::to_string).collect();
        return Err(resp.fail(format!(
            "{clause}: expected a {} error redirect with `{code}`, got {}",
            allowed.join(" or "),
            resp.status()
        )));
    }
    let r = Redirect::of(resp)?;
    r.error_says(clause, redirect_uri, code, state)
        .map_err(|why| resp.fail(why))?;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_in_the_fragment_counts_where_the_response_type_puts_it_there() {
        let url = Url::parse("http://cb/x#error=unsupported_response_type&state=s").unwrap();
        let r = Redirect::read(url.clone(), true);
        assert_eq!(r.param("error"), Some("unsupported_response_type"));
        assert_eq!(r.base, "http://cb/x");
        assert_eq!(Redirect::read(url, false).param("error"), None);
        assert!(uses_fragment("/authorize?response_type=token&client_id=c"));
        assert!(!uses_fragment("/authorize?response_type=code&client_id=c"));
        assert!(!uses_fragment("/authorize?client_id=c"));
    }

    #[test]
    fn an_error_redirect_says_what_is_wrong_citing_the_clause() {
        let r = Redirect::read(
            Url::parse("http://cb/x?error=invalid_scope&state=s&iss=https%3A%2F%2Fas").unwrap(),
            false,
        );
        assert_eq!(
            r.error_says("FX-AUTHZ-1", "http://cb/x", "invalid_scope", "s"),
            Ok(())
        );
        for (uri, code, state) in [
            ("http://cb/y", "invalid_scope", "s"),
            ("http://cb/x", "access_denied", "s"),
            ("http://cb/x", "invalid_scope", "t"),
        ] {
            let why = r.error_says("FX-AUTHZ-1", uri, code, state).unwrap_err();
            assert!(why.starts_with("FX-AUTHZ-1: "), "{why}");
        }
    }

    fn answer(request: &str, location: &str) -> Resp {
        let ex = crate::client::Exchange {
            req: crate::client::Req::get(request),
            at: chrono::Utc::now(),
            elapsed: std::time::Duration::ZERO,
            status: 302,
            headers: vec![("location".to_owned(), location.to_owned())],
            body: String::new(),
        };
        Resp {
            ex: std::sync::Arc::new(ex),
            request_id_header: String::new(),
            target: Some(std::sync::Arc::new(
                Url::parse("https://as.example/tenant/").expect("a URL"),
            )),
        }
    }

    #[test]
    fn a_relative_location_is_resolved_against_the_request_url() {
        let r = answer(
            "/authorize?response_type=code",
            "/cb?error=access_denied&state=s",
        );
        assert_eq!(
            Redirect::of(&r).unwrap().url.as_str(),
            "https://as.example/cb?error=access_denied&state=s"
        );
        let r = answer("/oauth/authorize?x=1", "consent?id=7");
        assert_eq!(
            r.location().unwrap().as_str(),
            "https://as.example/tenant/oauth/consent?id=7"
        );
        let r = answer(
            "/authorize?response_type=token",
            "http://cb/x#error=unsupported_response_type&state=s",
        );
        let redirect = Redirect::of(&r).unwrap();
        assert_eq!(
            redirect.error_says(
                "FX-AUTHZ-1",
                "http://cb/x",
                "unsupported_response_type",
                "s"
            ),
            Ok(())
        );
    }
}
