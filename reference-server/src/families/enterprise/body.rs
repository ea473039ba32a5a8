//! How enterprise reads a request's body: the way the vendor (a Laravel app) reads it, a
//! JSON object or a form by `Content-Type`; malformed JSON, another content type or an
//! empty body has no fields at all. Shared by its token, introspection and revocation
//! endpoints. Members are read in place (borrowed from the body where no escape needs
//! undoing), since all a rule asks of a member is whether it is a non-blank string.

use std::borrow::Cow;
use std::fmt;

use hyper::HeaderMap;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::core::Params;
use crate::core::client_auth::ClientCredentials;
use crate::core::error::ProtocolResult;
use crate::http::request::{OAuthInput, media_type_is};
use crate::http::respond::plain_len;

/// A body's members in order: a JSON object's, or a form's. Anything else is none.
#[derive(Debug, Default, PartialEq)]
pub struct Fields<'a>(Vec<(Cow<'a, str>, Member<'a>)>);

/// A member's value, as far as a rule cares.
#[derive(Debug, Clone, PartialEq)]
enum Member<'a> {
    Text(Cow<'a, str>),
    Null,
    /// A number, boolean, array or object.
    Other,
}

/// A member as a validation rule sees it.
pub enum Field<'f> {
    /// Absent, null, or a string of only whitespace (Laravel trims input, then reads an
    /// empty string as null).
    Missing,
    Text(&'f str),
    /// A number, boolean, array or object.
    NotText,
}

/// A body's members by `Content-Type`.
pub fn body_fields<'a>(headers: &HeaderMap, body: &'a [u8]) -> Fields<'a> {
    if media_type_is(headers, "application/json") {
        plain_object(body).unwrap_or_else(|| serde_json::from_slice(body).unwrap_or_default())
    } else if media_type_is(headers, "application/x-www-form-urlencoded") {
        Fields(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k, Member::Text(v)))
                .collect(),
        )
    } else {
        Fields::default()
    }
}

/// A JSON object whose members are all strings without escapes or control characters,
/// such as every token, introspection and revocation body a client sends, read in one
/// pass: the members serde_json reads from it, in order (issue 20 item 8: serde took a
/// third of the handler's work). `None` for any other text, which serde then reads; a
/// property test holds the two to the same answer.
fn plain_object(body: &[u8]) -> Option<Fields<'_>> {
    let text = std::str::from_utf8(body).ok()?;
    let bytes = text.as_bytes();
    let mut at = skip_whitespace(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at = skip_whitespace(bytes, at + 1);
    let mut members = Vec::new();
    if bytes.get(at) == Some(&b'}') {
        at += 1;
    } else {
        loop {
            let (key, next) = plain_string(text, at)?;
            at = skip_whitespace(bytes, next);
            if bytes.get(at) != Some(&b':') {
                return None;
            }
            let (value, next) = plain_string(text, skip_whitespace(bytes, at + 1))?;
            members.push((Cow::Borrowed(key), Member::Text(Cow::Borrowed(value))));
            at = skip_whitespace(bytes, next);
            match bytes.get(at) {
                Some(b',') => at = skip_whitespace(bytes, at + 1),
                Some(b'}') => {
                    at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (skip_whitespace(bytes, at) == bytes.len()).then_some(Fields(members))
}

/// Past JSON's whitespace from `at`.
fn skip_whitespace(bytes: &[u8], mut at: usize) -> usize {
    while bytes
        .get(at)
        .is_some_and(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t'))
    {
        at += 1;
    }
    at
}

/// The string opening at `at` and where it ends, if it has no escape and no control
/// character (what serde would have to undo or refuse).
fn plain_string(text: &str, at: usize) -> Option<(&str, usize)> {
    let bytes = text.as_bytes();
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let start = at + 1;
    let len = plain_len(&bytes[start..])?;
    // Ends at a quote (ASCII), so on a character boundary.
    (bytes[start + len] == b'"').then(|| (&text[start..start + len], start + len + 1))
}

/// The member `name`; of a repeated name the last, as PHP reads forms and JSON objects.
pub fn field<'f>(fields: &'f Fields<'_>, name: &str) -> Field<'f> {
    match fields
        .0
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
    {
        None | Some(Member::Null) => Field::Missing,
        Some(Member::Text(s)) if s.trim().is_empty() => Field::Missing,
        Some(Member::Text(s)) => Field::Text(s),
        Some(Member::Other) => Field::NotText,
    }
}

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Object;
        impl<'de> Visitor<'de> for Object {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<Key<'de>, Member<'de>>()? {
                    members.push((member.0.0, member.1));
                }
                Ok(Fields(members))
            }
        }
        d.deserialize_map(Object)
    }
}

/// An object's key, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Member::deserialize(d).and_then(|m| match m {
            Member::Text(key) => Ok(Key(key)),
            _ => Err(de::Error::custom("a key is a string")),
        })
    }
}

impl<'de> Deserialize<'de> for Member<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Any;
        impl<'de> Visitor<'de> for Any {
            type Value = Member<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Member<'de>, E> {
                Ok(Member::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Member<'de>, E> {
                Ok(Member::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Member<'de>, E> {
                Ok(Member::Text(Cow::Owned(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Member<'de>, E> {
                Ok(Member::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Member<'de>, E> {
                Ok(Member::Null)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Member<'de>, E> {
                Ok(Member::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Member<'de>, E> {
                Ok(Member::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Member<'de>, E> {
                Ok(Member::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Member<'de>, E> {
                Ok(Member::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Member<'de>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Member::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Member<'de>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Member::Other)
            }
        }
        d.deserialize_any(Any)
    }
}

/// The shell's parse of a token body, for a limit keyed by client (PP-RATE-4): its string
/// members and the `client_id` and `client_secret` it names. Never fails: a body that
/// reads as nothing names no client.
pub fn oauth_input(headers: &HeaderMap, body: &[u8]) -> ProtocolResult<OAuthInput> {
    let mut params = Params::new();
    for (k, v) in body_fields(headers, body).0 {
        if let Member::Text(s) = v {
            params.insert(k.into_owned(), s.into_owned());
        }
    }
    let creds = ClientCredentials {
        client_id: params.get("client_id").cloned(),
        client_secret: params.get("client_secret").cloned(),
        via_basic: false,
    };
    Ok((params, creds))
}

#[cfg(test)]
mod tests {
    use hyper::header::{CONTENT_TYPE, HeaderValue};

    use super::*;

    fn typed(media: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_static(media));
        h
    }

    fn text<'f>(fields: &'f Fields<'_>, name: &str) -> Option<&'f str> {
        match field(fields, name) {
            Field::Text(s) => Some(s),
            _ => None,
        }
    }

    #[test]
    fn json_and_forms_are_read_and_anything_else_is_no_fields() {
        let json = typed("application/json; charset=utf-8");
        let read = body_fields(&json, br#"{"client_id":"a","esc\u0061ped":"b\"c"}"#);
        assert_eq!(text(&read, "client_id"), Some("a"));
        assert_eq!(text(&read, "escaped"), Some("b\"c"), "escapes are undone");
        assert!(body_fields(&json, b"{nope").0.is_empty());
        assert!(body_fields(&json, b"[1]").0.is_empty());
        let form = typed("application/x-www-form-urlencoded");
        assert_eq!(
            text(&body_fields(&form, b"a=1&a=2"), "a"),
            Some("2"),
            "the last wins"
        );
        assert_eq!(
            text(&body_fields(&json, br#"{"a":"1","a":"2"}"#), "a"),
            Some("2"),
            "the last wins in JSON too"
        );
        assert!(body_fields(&typed("text/plain"), b"a=1").0.is_empty());
        assert!(body_fields(&HeaderMap::new(), br#"{"a":"1"}"#).0.is_empty());
    }

    /// The one-pass reader answers as serde does wherever it answers at all, and answers
    /// the bodies clients send.
    #[test]
    fn the_plain_reader_agrees_with_serde() {
        for body in [
            r#"{"token":"enat_abc"}"#,
            " { \"client_id\" : \"en-acme\" ,\"client_secret\":\"s\" , \"a\":\"1\",\"a\":\"2\"} \n",
            "{}",
            " {\t}\r\n",
        ] {
            let plain = plain_object(body.as_bytes()).expect(body);
            assert_eq!(
                Some(plain),
                serde_json::from_slice::<Fields>(body.as_bytes()).ok()
            );
        }
        for body in [
            r#"{"a":"b\"c"}"#,
            r#"{"a":1}"#,
            r#"{"a":"b",}"#,
            r#"{"a":"b"} x"#,
            "{\"a\":\"\u{1}\"}",
            "[]",
            "",
        ] {
            assert!(plain_object(body.as_bytes()).is_none(), "{body}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_word_scan_finds_the_first_byte_a_string_stops_at(bytes in proptest::collection::vec(proptest::prop_oneof![
            8 => 0x20u8..=0xff,
            1 => proptest::strategy::Just(b'"'),
            1 => proptest::strategy::Just(b'\\'),
            1 => 0u8..0x20,
        ], 0..40)) {
            proptest::prop_assert_eq!(
                plain_len(&bytes),
                bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            );
        }

        #[test]
        fn the_plain_reader_never_disagrees_with_serde(
            body in r#"[ \t\r\n{}":,\\a-c0-9\x01é\[\]nul]{0,40}"#,
            members in proptest::collection::vec(("[a-c_ é\\\"]{0,4}", "[a-c_ é\\\"\x01]{0,6}"), 0..4),
            spaces in "[ \t\r\n]{0,2}",
        ) {
            let object = format!(
                "{spaces}{{{}}}{spaces}",
                members
                    .iter()
                    .map(|(k, v)| format!("\"{k}\"{spaces}:{spaces}\"{v}\""))
                    .collect::<Vec<_>>()
                    .join(&format!("{spaces},"))
            );
            for text in [body, object] {
                if let Some(plain) = plain_object(text.as_bytes()) {
                    proptest::prop_assert_eq!(
                        Some(plain),
                        serde_json::from_slice::<Fields>(text.as_bytes()).ok(),
                        "{}", text
                    );
                }
            }
        }
    }

    #[test]
    fn a_member_is_text_missing_or_not_text() {
        let json = typed("application/json");
        let read = body_fields(
            &json,
            br#"{"t":"x","blank":"  ","null":null,"n":7,"b":true,"l":[1,{"x":[]}],"o":{"a":1}}"#,
        );
        assert!(matches!(field(&read, "t"), Field::Text("x")));
        for missing in ["blank", "null", "absent"] {
            assert!(matches!(field(&read, missing), Field::Missing), "{missing}");
        }
        for other in ["n", "b", "l", "o"] {
            assert!(matches!(field(&read, other), Field::NotText), "{other}");
        }
    }
}
