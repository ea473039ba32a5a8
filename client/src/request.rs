//! A request as a client of the contract builds it, and the exchange it came to. Both
//! stay structured (form pairs, JSON, headers in order) so a recording transport can show
//! them; neither judges anything.

use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// A request body, kept structured so transcripts can show it.
#[derive(Debug, Clone)]
pub enum ReqBody {
    None,
    Form(Vec<(String, String)>),
    Json(Value),
    /// Bytes sent as-is with the given content type (malformed-body requests).
    Raw {
        content_type: String,
        text: String,
    },
}

/// A request under construction. Paths are relative to the target's base URL.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: ReqBody,
    /// The client this request acts for, for support fields.
    pub client_id: Option<String>,
    /// Approval and test-control traffic: a recording transport keeps it out of what it
    /// compares, and it counts against no rate limit.
    pub driver: bool,
    pub timeout: Option<Duration>,
    /// Form fields copied from the page's own hidden inputs (a CSRF token, say): sent
    /// as a browser sends them, left out of transcripts, since they are the page's
    /// business and not the contract's.
    pub page_fields: Vec<String>,
}

impl Req {
    pub fn new(method: &str, path: impl Into<String>) -> Req {
        Req {
            method: method.to_owned(),
            path: path.into(),
            headers: Vec::new(),
            body: ReqBody::None,
            client_id: None,
            driver: false,
            timeout: None,
            page_fields: Vec::new(),
        }
    }
    pub fn get(path: impl Into<String>) -> Req {
        Req::new("GET", path)
    }
    pub fn post(path: impl Into<String>) -> Req {
        Req::new("POST", path)
    }
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Req {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }
    pub fn bearer(self, token: &str) -> Req {
        self.header("authorization", format!("Bearer {token}"))
    }
    pub fn basic(self, user: &str, password: &str) -> Req {
        let raw = format!("{user}:{password}");
        let enc = base64::engine::general_purpose::STANDARD.encode(raw);
        self.header("authorization", format!("Basic {enc}"))
    }
    pub fn form<K: Into<String>, V: Into<String>>(
        mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Req {
        let pairs: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        if self.client_id.is_none() {
            self.client_id = pairs
                .iter()
                .find(|(k, _)| k == "client_id")
                .map(|(_, v)| v.clone());
        }
        self.body = ReqBody::Form(pairs);
        self
    }
    /// A page's form as a browser submits it: the form's hidden inputs that `fields`
    /// does not fill, then `fields`. Without hidden inputs and fields, no body at all (a
    /// button-only form).
    pub fn page_form<K: Into<String>, V: Into<String>>(
        self,
        hidden: Vec<(String, String)>,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Req {
        let fields: Vec<(String, String)> = fields
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let hidden: Vec<(String, String)> = hidden
            .into_iter()
            .filter(|(k, _)| !fields.iter().any(|(f, _)| f == k))
            .collect();
        if hidden.is_empty() && fields.is_empty() {
            return self;
        }
        let names = hidden.iter().map(|(k, _)| k.clone()).collect();
        let mut req = self.form(hidden.into_iter().chain(fields));
        req.page_fields = names;
        req
    }
    pub fn json(mut self, value: Value) -> Req {
        if self.client_id.is_none() {
            self.client_id = value
                .get("client_id")
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        self.body = ReqBody::Json(value);
        self
    }
    pub fn raw(mut self, content_type: &str, text: impl Into<String>) -> Req {
        self.body = ReqBody::Raw {
            content_type: content_type.to_owned(),
            text: text.into(),
        };
        self
    }
    pub fn client(mut self, client_id: &str) -> Req {
        self.client_id = Some(client_id.to_owned());
        self
    }
    pub fn driver(mut self) -> Req {
        self.driver = true;
        self
    }
    pub fn timeout(mut self, timeout: Duration) -> Req {
        self.timeout = Some(timeout);
        self
    }
    /// The path without its query string.
    pub fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or(&self.path)
    }
}

/// One request and its response, as sent and received.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub req: Req,
    pub at: DateTime<Utc>,
    pub elapsed: Duration,
    pub status: u16,
    /// Lower-case names, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Exchange {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_str(&self.body)
    }

    /// The `error` member of a JSON body, if any.
    pub fn error_code(&self) -> Option<String> {
        self.json().ok()?.get("error")?.as_str().map(str::to_owned)
    }

    /// A string member of a 200 JSON body.
    pub fn ok_str(&self, key: &str) -> Option<String> {
        if self.status != 200 {
            return None;
        }
        self.json().ok()?.get(key)?.as_str().map(str::to_owned)
    }

    /// `status body`, cut to a readable length, for messages.
    pub fn describe(&self) -> String {
        let mut cut = self.body.len().min(600);
        while !self.body.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{} {}", self.status, &self.body[..cut])
    }
}

/// Response headers as a transcript records them: name and value, the value decoded
/// lossily (a header that is not UTF-8 is still shown).
pub fn recorded_headers(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Encodes a query value as a form does (`application/x-www-form-urlencoded`).
pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A query parameter of a URL (or of anything after its `?`).
pub fn query_param(url: &str, key: &str) -> Option<String> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}
