//! Container image references: [`ImageRef`], `[registry/]path/name[:tag][@digest]`,
//! e.g. `airbyte/source-faker:6.2.1`, `ghcr.io/estuary/source-x:v1`,
//! `127.0.0.1:5000/estuary/source-x:v1`.

use std::fmt;

/// An image reference, borrowing the string it was parsed from.
///
/// The tag is what follows the last `:` only when that `:` comes after the
/// last `/`: the `:` of a registry port (`127.0.0.1:5000/estuary/x`) starts no
/// tag. A digest (`@sha256:...`) is kept apart from the tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ImageRef<'a> {
    /// Everything before the tag: `[registry/]path/name`, e.g.
    /// `ghcr.io/estuary/source-x`.
    pub repository: &'a str,
    /// `6.2.1` of `airbyte/source-faker:6.2.1`.
    pub tag: Option<&'a str>,
    /// `sha256:abc...` of `airbyte/source-faker:6.2.1@sha256:abc...`.
    pub digest: Option<&'a str>,
}

/// Why a string is not an image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not an image reference ({reason}): write it as \"registry/path/name:tag\", e.g. \"airbyte/source-x:1.2.3\"")]
pub struct ImageError {
    pub input: String,
    pub reason: &'static str,
}

impl<'a> ImageRef<'a> {
    /// Parses `s`; see the type's docs for where the tag is.
    pub fn parse(s: &'a str) -> Result<ImageRef<'a>, ImageError> {
        let err = |reason| ImageError {
            input: s.to_string(),
            reason,
        };
        if s.is_empty() {
            return Err(err("it is empty"));
        }
        if s.contains(char::is_whitespace) {
            return Err(err("it contains a space"));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((_, "")) => return Err(err("the digest after `@` is empty")),
            Some((rest, d)) => (rest, Some(d)),
            None => (s, None),
        };
        let (repository, tag) = match rest.rsplit_once(':') {
            Some((_, t)) if t.contains('/') => (rest, None),
            Some((_, "")) => return Err(err("the tag after `:` is empty")),
            Some((r, t)) => (r, Some(t)),
            None => (rest, None),
        };
        if repository.is_empty() {
            return Err(err("the name is empty"));
        }
        let segments: Vec<&str> = repository.split('/').collect();
        if segments.iter().any(|p| p.is_empty()) {
            return Err(err("it has an empty path segment"));
        }
        // Only a registry (the first of several segments) has a `:`, its port.
        if segments.iter().skip(1).any(|p| p.contains(':'))
            || (segments.len() == 1 && repository.contains(':'))
        {
            return Err(err("a `:` that is neither a registry's port nor the tag's"));
        }
        Ok(ImageRef {
            repository,
            tag,
            digest,
        })
    }

    /// The last path segment: `source-x` of `ghcr.io/estuary/source-x:v1`.
    pub fn name(&self) -> &'a str {
        self.repository
            .rsplit('/')
            .next()
            .unwrap_or(self.repository)
    }

    /// The registry host (with its port), when the reference names one as
    /// Docker tells: a first segment, of several, holding a `.` or a `:` or
    /// being `localhost` (`ghcr.io`, `127.0.0.1:5000`; none for `airbyte/x`).
    pub fn registry(&self) -> Option<&'a str> {
        let (first, _) = self.repository.split_once('/')?;
        (first.contains(['.', ':']) || first == "localhost").then_some(first)
    }

    /// The same repository with tag `tag` and no digest (the digest pinned
    /// the old tag's image).
    pub fn with_tag<'b>(&self, tag: &'b str) -> ImageRef<'b>
    where
        'a: 'b,
    {
        ImageRef {
            repository: self.repository,
            tag: Some(tag),
            digest: None,
        }
    }
}

impl fmt::Display for ImageRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.repository)?;
        if let Some(tag) = self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// The tag of `image` (see [`ImageRef`]), `None` when it has none or does
/// not parse.
pub fn tag(image: &str) -> Option<&str> {
    ImageRef::parse(image).ok()?.tag
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(s: &str) -> (&str, Option<&str>, Option<&str>) {
        let i = ImageRef::parse(s).unwrap();
        assert_eq!(i.to_string(), s, "round trip");
        (i.repository, i.tag, i.digest)
    }

    #[test]
    fn splits_repository_tag_and_digest() {
        assert_eq!(
            parts("airbyte/source-faker:6.2.1"),
            ("airbyte/source-faker", Some("6.2.1"), None)
        );
        assert_eq!(
            parts("ghcr.io/estuary/source-x:v1"),
            ("ghcr.io/estuary/source-x", Some("v1"), None)
        );
        assert_eq!(
            parts("127.0.0.1:5000/estuary/source-x:tag"),
            ("127.0.0.1:5000/estuary/source-x", Some("tag"), None)
        );
        // A registry's port is no tag.
        assert_eq!(
            parts("127.0.0.1:5000/estuary/x"),
            ("127.0.0.1:5000/estuary/x", None, None)
        );
        assert_eq!(parts("localhost:5000/x"), ("localhost:5000/x", None, None));
        assert_eq!(parts("source-x"), ("source-x", None, None));
        assert_eq!(
            parts("airbyte/x:1.0@sha256:abc"),
            ("airbyte/x", Some("1.0"), Some("sha256:abc"))
        );
        assert_eq!(
            parts("localhost:5000/x@sha256:abc"),
            ("localhost:5000/x", None, Some("sha256:abc"))
        );
    }

    #[test]
    fn name_registry_with_tag() {
        let i = ImageRef::parse("127.0.0.1:5000/estuary/source-x:v1").unwrap();
        assert_eq!(i.name(), "source-x");
        assert_eq!(i.registry(), Some("127.0.0.1:5000"));
        assert_eq!(
            i.with_tag("v2").to_string(),
            "127.0.0.1:5000/estuary/source-x:v2"
        );
        let i = ImageRef::parse("airbyte/source-faker:6.2.1").unwrap();
        assert_eq!((i.name(), i.registry()), ("source-faker", None));
        assert_eq!(
            ImageRef::parse("ghcr.io/x").unwrap().registry(),
            Some("ghcr.io")
        );
        assert_eq!(
            ImageRef::parse("localhost/x").unwrap().registry(),
            Some("localhost")
        );
        assert_eq!(ImageRef::parse("x").unwrap().name(), "x");
        let pinned = ImageRef::parse("airbyte/x:1@sha256:abc").unwrap();
        assert_eq!(pinned.with_tag("2").to_string(), "airbyte/x:2");
        let untagged = ImageRef::parse("localhost:5000/x").unwrap();
        assert_eq!(untagged.with_tag("1").to_string(), "localhost:5000/x:1");
    }

    #[test]
    fn tag_of_a_string() {
        assert_eq!(tag("airbyte/source-freshdesk:3.0.2"), Some("3.0.2"));
        assert_eq!(tag("localhost:5000/airbyte/source-x"), None);
        assert_eq!(tag("localhost:5000/airbyte/source-x:1"), Some("1"));
        assert_eq!(tag(""), None);
    }

    #[test]
    fn rejects_what_is_not_an_image() {
        for (bad, reason) in [
            ("", "it is empty"),
            ("a b:1", "it contains a space"),
            ("x:", "the tag after `:` is empty"),
            ("x@", "the digest after `@` is empty"),
            (":1", "the name is empty"),
            ("a//b:1", "it has an empty path segment"),
            ("/a:1", "it has an empty path segment"),
            (
                "a:b:c",
                "a `:` that is neither a registry's port nor the tag's",
            ),
            (
                "r/a:b/c:1",
                "a `:` that is neither a registry's port nor the tag's",
            ),
        ] {
            let e = ImageRef::parse(bad).unwrap_err();
            assert_eq!(e.reason, reason, "{bad:?}");
        }
        assert_eq!(
            ImageRef::parse("x:").unwrap_err().to_string(),
            "\"x:\" is not an image reference (the tag after `:` is empty): write it as \"registry/path/name:tag\", e.g. \"airbyte/source-x:1.2.3\""
        );
    }
}
