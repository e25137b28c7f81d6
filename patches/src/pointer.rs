//! JSON pointers (RFC 6901): [`Pointer`], a pointer as its unescaped tokens,
//! for building and splitting pointers; [`escape`] and [`unescape`] for one
//! token.
//!
//! To read a value at a pointer given as a string, `serde_json::Value::pointer`
//! is enough; [`Pointer::get`] and [`Pointer::get_mut`] follow the same rules
//! (an array index is decimal digits without a leading zero) for a pointer
//! already split.

use std::fmt;

use serde_json::Value;

/// A JSON pointer as its unescaped reference tokens: `/a~1b/c` is
/// `["a/b", "c"]`; the empty pointer `""` (the whole document) has none.
/// [`Display`](fmt::Display) writes it back escaped.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pointer {
    tokens: Vec<String>,
}

/// Why a string is not a JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PointerError {
    /// Neither empty nor starting with `/`.
    #[error("{0:?} is not a JSON pointer: write it as \"/a/b\"")]
    NotRooted(String),
    /// A `~` not followed by `0` or `1`.
    #[error("{0:?} is not a JSON pointer: escape `~` as `~0` and `/` inside a name as `~1`")]
    BadEscape(String),
}

impl Pointer {
    /// The empty pointer: the whole document.
    pub fn root() -> Pointer {
        Pointer::default()
    }

    /// Parses `s`: `""` is the whole document, anything else starts with `/`;
    /// in each token `~1` is `/` and `~0` is `~` (so `~01` is `~1`), and any
    /// other `~` is an error.
    pub fn parse(s: &str) -> Result<Pointer, PointerError> {
        if s.is_empty() {
            return Ok(Pointer::root());
        }
        let Some(rest) = s.strip_prefix('/') else {
            return Err(PointerError::NotRooted(s.to_string()));
        };
        rest.split('/')
            .map(unescape)
            .collect::<Option<Vec<String>>>()
            .map(|tokens| Pointer { tokens })
            .ok_or_else(|| PointerError::BadEscape(s.to_string()))
    }

    /// The unescaped tokens, outermost first.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// The unescaped tokens, outermost first.
    pub fn into_tokens(self) -> Vec<String> {
        self.tokens
    }

    /// Whether this is the empty pointer (the whole document).
    pub fn is_root(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Appends one (unescaped) token: `/a` + `b/c` is `/a/b~1c`.
    pub fn push(&mut self, token: impl Into<String>) {
        self.tokens.push(token.into());
    }

    /// This pointer with one more (unescaped) token.
    pub fn child(&self, token: impl Into<String>) -> Pointer {
        let mut p = self.clone();
        p.push(token);
        p
    }

    /// Removes and returns the last token.
    pub fn pop(&mut self) -> Option<String> {
        self.tokens.pop()
    }

    /// The pointer to the parent and the last token; `None` for the root.
    pub fn split_last(&self) -> Option<(Pointer, &str)> {
        let (last, parent) = self.tokens.split_last()?;
        Some((
            Pointer {
                tokens: parent.to_vec(),
            },
            last,
        ))
    }

    /// The value at this pointer in `doc`, as `serde_json::Value::pointer`
    /// finds it.
    pub fn get<'a>(&self, doc: &'a Value) -> Option<&'a Value> {
        self.tokens.iter().try_fold(doc, |v, t| match v {
            Value::Object(m) => m.get(t),
            Value::Array(a) => a.get(index(t)?),
            _ => None,
        })
    }

    /// The value at this pointer in `doc`, mutable.
    pub fn get_mut<'a>(&self, doc: &'a mut Value) -> Option<&'a mut Value> {
        self.tokens.iter().try_fold(doc, |v, t| match v {
            Value::Object(m) => m.get_mut(t),
            Value::Array(a) => a.get_mut(index(t)?),
            _ => None,
        })
    }
}

/// An array index token: decimal digits, no sign, no leading zero (RFC 6901
/// section 4, as serde_json reads it).
fn index(t: &str) -> Option<usize> {
    if t.starts_with('+') || (t.starts_with('0') && t.len() != 1) {
        return None;
    }
    t.parse().ok()
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for t in &self.tokens {
            write!(f, "/{}", escape(t))?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Pointer {
    type Err = PointerError;
    fn from_str(s: &str) -> Result<Pointer, PointerError> {
        Pointer::parse(s)
    }
}

impl<T: Into<String>> FromIterator<T> for Pointer {
    /// The pointer of these unescaped tokens.
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Pointer {
        Pointer {
            tokens: iter.into_iter().map(Into::into).collect(),
        }
    }
}

/// Escapes one token: `~` as `~0`, then `/` as `~1`.
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Unescapes one token: `~1` is `/`, `~0` is `~` (read left to right, so
/// `~01` is `~1`); `None` for any other `~`.
pub fn unescape(token: &str) -> Option<String> {
    if !token.contains('~') {
        return Some(token.to_string());
    }
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tokens(s: &str) -> Vec<String> {
        Pointer::parse(s).unwrap().into_tokens()
    }

    #[test]
    fn rfc6901_examples() {
        // RFC 6901 section 5, against its example document.
        let doc = json!({
            "foo": ["bar", "baz"], "": 0, "a/b": 1, "c%d": 2, "e^f": 3,
            "g|h": 4, "i\\j": 5, "k\"l": 6, " ": 7, "m~n": 8
        });
        let cases = [
            ("", doc.clone()),
            ("/foo", json!(["bar", "baz"])),
            ("/foo/0", json!("bar")),
            ("/", json!(0)),
            ("/a~1b", json!(1)),
            ("/c%d", json!(2)),
            ("/e^f", json!(3)),
            ("/g|h", json!(4)),
            ("/i\\j", json!(5)),
            ("/k\"l", json!(6)),
            ("/ ", json!(7)),
            ("/m~0n", json!(8)),
        ];
        for (s, want) in cases {
            let p = Pointer::parse(s).unwrap();
            assert_eq!(p.get(&doc), Some(&want), "{s}");
            assert_eq!(p.get(&doc), doc.pointer(s), "{s}");
            assert_eq!(p.to_string(), s, "round trip of {s}");
        }
        assert_eq!(tokens("/a~1b"), ["a/b"]);
        assert_eq!(tokens("/m~0n"), ["m~n"]);
        assert_eq!(tokens("/"), [""]);
        assert_eq!(tokens(""), Vec::<String>::new());
    }

    #[test]
    fn unescapes_tilde_one_before_tilde_zero() {
        // `~01` is `~` `1`, not `~` `/`: replacing `~0` first would give `/`.
        assert_eq!(unescape("~01").as_deref(), Some("~1"));
        assert_eq!(unescape("~10").as_deref(), Some("/0"));
        assert_eq!(unescape("~0~1").as_deref(), Some("~/"));
        assert_eq!(escape("~1"), "~01");
        assert_eq!(escape("a/b~c"), "a~1b~0c");
        assert_eq!(tokens("/~01/x"), ["~1", "x"]);
        for t in ["", "~", "/", "~1", "~0", "a/~b", "~/~/", "é/日本"] {
            assert_eq!(unescape(&escape(t)).as_deref(), Some(t), "{t}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_pointer() {
        let e = Pointer::parse("a/b").unwrap_err();
        assert_eq!(e, PointerError::NotRooted("a/b".into()));
        assert_eq!(
            e.to_string(),
            "\"a/b\" is not a JSON pointer: write it as \"/a/b\""
        );
        for bad in ["/a~2", "/a~", "/~/x", "/x/~a"] {
            let e = Pointer::parse(bad).unwrap_err();
            assert_eq!(e, PointerError::BadEscape(bad.into()), "{bad}");
            assert!(e
                .to_string()
                .starts_with(&format!("{bad:?} is not a JSON pointer: escape")));
        }
        assert_eq!(unescape("~2"), None);
        assert!("#/a".parse::<Pointer>().is_err());
    }

    #[test]
    fn builds_and_splits() {
        let mut p = Pointer::root();
        assert!(p.is_root());
        assert_eq!(p.to_string(), "");
        p.push("a");
        p.push("b/c");
        p.push(String::from("~"));
        assert_eq!(p.to_string(), "/a/b~1c/~0");
        assert_eq!(p.tokens(), ["a", "b/c", "~"]);
        let (parent, last) = p.split_last().unwrap();
        assert_eq!((parent.to_string().as_str(), last), ("/a/b~1c", "~"));
        assert_eq!(p.child("0").to_string(), "/a/b~1c/~0/0");
        assert_eq!(p.pop().as_deref(), Some("~"));
        assert!(Pointer::root().split_last().is_none());
        let from_iter: Pointer = ["x/y", "z"].into_iter().collect();
        assert_eq!(from_iter.to_string(), "/x~1y/z");
        let path = [String::from("p")];
        assert_eq!(path.iter().collect::<Pointer>().to_string(), "/p");
    }

    #[test]
    fn reads_arrays_as_serde_json_does() {
        let mut doc = json!({"a": [10, 20, {"b": 1}]});
        for s in [
            "/a/0", "/a/1", "/a/01", "/a/+1", "/a/-", "/a/3", "/a/2/b", "/a/x", "/b",
        ] {
            assert_eq!(Pointer::parse(s).unwrap().get(&doc), doc.pointer(s), "{s}");
        }
        *Pointer::parse("/a/2/b").unwrap().get_mut(&mut doc).unwrap() = json!(2);
        assert_eq!(doc["a"][2]["b"], 2);
    }
}
