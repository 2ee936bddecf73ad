//! Validated names: [`StreamId`] for streams and [`TypeName`] for aggregate and event types.
//!
//! Both are checked once, when they are made, so that a store never sees an empty, over-long or
//! unprintable name, and both clone in O(1) (a pointer copy or a reference-count increment),
//! because every recorded event carries them.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use smol_str::SmolStr;

/// The longest stream id, in bytes.
///
/// Long enough for `"<aggregate type>-<uuid>"` with room to spare, short enough to fit in
/// the index key of every database eventful targets.
pub const MAX_STREAM_ID_LEN: usize = 255;

/// The longest aggregate or event type name, in bytes.
pub const MAX_TYPE_NAME_LEN: usize = 128;

/// Why a stream id or type name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The name was empty.
    #[error("{kind} is empty")]
    Empty {
        /// What was being named: `"stream id"`, `"event type"` or `"aggregate type"`.
        kind: &'static str,
    },
    /// The name was longer than allowed.
    #[error("{kind} `{preview}…` is {len} bytes long; the limit is {max}")]
    TooLong {
        /// What was being named.
        kind: &'static str,
        /// The first characters of the name.
        preview: String,
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// The name held a control character (a newline, a NUL, …).
    #[error("{kind} {name:?} has a control character at byte {index}")]
    ControlCharacter {
        /// What was being named.
        kind: &'static str,
        /// The name, escaped.
        name: String,
        /// Byte offset of the first control character.
        index: usize,
    },
    /// An aggregate id rendered as nothing, or as white space only: every such id would
    /// name the same stream (`"player-"`).
    #[error("the id of a `{aggregate_type}` is empty or blank")]
    BlankId {
        /// The aggregate type whose id it is.
        aggregate_type: String,
    },
}

fn check(kind: &'static str, name: &str, max: usize) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty { kind });
    }
    if name.len() > max {
        return Err(NameError::TooLong {
            kind,
            preview: name.chars().take(32).collect(),
            len: name.len(),
            max,
        });
    }
    if let Some((index, _)) = name.char_indices().find(|(_, c)| c.is_control()) {
        return Err(NameError::ControlCharacter {
            kind,
            name: name.to_owned(),
            index,
        });
    }
    Ok(())
}

/// The id of an event stream: one aggregate instance's history, such as `"player-42"`.
///
/// Non-empty, at most [`MAX_STREAM_ID_LEN`] bytes, no control characters. An id of at most
/// 23 bytes is held in place, so that cloning and dropping it touches no shared count (a
/// command clones its stream's id a few times); a longer one is shared.
///
/// ```
/// use eventful_core::StreamId;
///
/// let id = StreamId::new("player-42")?;
/// assert_eq!(id.as_str(), "player-42");
/// assert!(StreamId::new("").is_err());
/// # Ok::<(), eventful_core::NameError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(SmolStr);

impl StreamId {
    /// Checks `id` and makes a stream id of it.
    pub fn new(id: impl AsRef<str>) -> Result<Self, NameError> {
        let id = id.as_ref();
        check("stream id", id, MAX_STREAM_ID_LEN)?;
        Ok(Self(SmolStr::new(id)))
    }

    /// The stream of one aggregate instance: `"<aggregate type>-<id>"`. An id that renders
    /// as nothing or as white space only is refused ([`NameError::BlankId`]).
    ///
    /// ```
    /// use eventful_core::{NameError, StreamId};
    ///
    /// assert_eq!(StreamId::for_aggregate("player", &42)?.as_str(), "player-42");
    /// assert!(matches!(StreamId::for_aggregate("player", &" "), Err(NameError::BlankId { .. })));
    /// # Ok::<(), eventful_core::NameError>(())
    /// ```
    pub fn for_aggregate(aggregate_type: &str, id: &impl fmt::Display) -> Result<Self, NameError> {
        // With room for the type and a number: `format!` starts from an empty string here (its
        // first piece is empty) and grows it as it writes.
        let mut stream_id = String::with_capacity(aggregate_type.len() + 1 + 20);
        stream_id.push_str(aggregate_type);
        stream_id.push('-');
        fmt::Write::write_fmt(&mut stream_id, format_args!("{id}"))
            .expect("a String takes whatever is written to it");
        if stream_id[aggregate_type.len() + 1..].trim().is_empty() {
            return Err(NameError::BlankId {
                aggregate_type: aggregate_type.to_owned(),
            });
        }
        Self::new(stream_id)
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for StreamId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for StreamId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for StreamId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl TryFrom<&str> for StreamId {
    type Error = NameError;
    fn try_from(id: &str) -> Result<Self, NameError> {
        Self::new(id)
    }
}

impl TryFrom<String> for StreamId {
    type Error = NameError;
    fn try_from(id: String) -> Result<Self, NameError> {
        Self::new(id)
    }
}

impl Serialize for StreamId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for StreamId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::new(id).map_err(serde::de::Error::custom)
    }
}

#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Shared(Arc<str>),
}

/// The name of an aggregate type (`"player"`) or an event type (`"xp_gained"`).
///
/// Non-empty, at most [`MAX_TYPE_NAME_LEN`] bytes, no control characters. Names that the
/// derive macros produce are `&'static str` and cost nothing to clone; names read back from a
/// store are shared.
///
/// ```
/// use eventful_core::TypeName;
///
/// const XP_GAINED: TypeName = TypeName::from_static("xp_gained");
/// assert_eq!(XP_GAINED, TypeName::new("xp_gained")?);
/// # Ok::<(), eventful_core::NameError>(())
/// ```
#[derive(Clone)]
pub struct TypeName(Repr);

impl TypeName {
    /// Checks `name` and makes a type name of it.
    pub fn new(name: impl AsRef<str>) -> Result<Self, NameError> {
        let name = name.as_ref();
        check("type name", name, MAX_TYPE_NAME_LEN)?;
        Ok(Self(Repr::Shared(Arc::from(name))))
    }

    /// A type name from a literal, checked at compile time when used in a `const`.
    ///
    /// # Panics
    ///
    /// When `name` is empty, longer than [`MAX_TYPE_NAME_LEN`] or holds an ASCII control
    /// character; in a `const` this is a compile error.
    pub const fn from_static(name: &'static str) -> Self {
        let bytes = name.as_bytes();
        assert!(!bytes.is_empty(), "type name is empty");
        assert!(bytes.len() <= MAX_TYPE_NAME_LEN, "type name is too long");
        let mut i = 0;
        while i < bytes.len() {
            assert!(
                !bytes[i].is_ascii_control(),
                "type name has a control character"
            );
            i += 1;
        }
        Self(Repr::Static(name))
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(name) => name,
            Repr::Shared(name) => name,
        }
    }

    /// The name as a metric label value, sharing its bytes rather than copying them.
    pub(crate) fn label(&self) -> metrics::SharedString {
        match &self.0 {
            Repr::Static(name) => metrics::SharedString::const_str(name),
            Repr::Shared(name) => metrics::SharedString::from(name.clone()),
        }
    }
}

impl Deref for TypeName {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for TypeName {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for TypeName {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for TypeName {
    fn eq(&self, other: &Self) -> bool {
        let (this, that) = (self.as_str(), other.as_str());
        // Names made from one literal (or cloned from one name) share their bytes: equal
        // without reading them, which a store interning every appended event's names does
        // for each.
        std::ptr::eq(this, that) || this == that
    }
}

impl Eq for TypeName {}

impl PartialEq<str> for TypeName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for TypeName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Hash for TypeName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for TypeName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TypeName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Display for TypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl TryFrom<&str> for TypeName {
    type Error = NameError;
    fn try_from(name: &str) -> Result<Self, NameError> {
        Self::new(name)
    }
}

impl Serialize for TypeName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TypeName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::new(name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_are_checked() {
        assert_eq!(
            StreamId::new(""),
            Err(NameError::Empty { kind: "stream id" })
        );
        let long = "x".repeat(MAX_STREAM_ID_LEN + 1);
        assert!(matches!(
            StreamId::new(&long),
            Err(NameError::TooLong {
                len: 256,
                max: 255,
                ..
            })
        ));
        assert!(StreamId::new("x".repeat(MAX_STREAM_ID_LEN)).is_ok());
        assert!(matches!(
            StreamId::new("player\n42"),
            Err(NameError::ControlCharacter { index: 6, .. })
        ));
        assert_eq!(StreamId::new("joueur-é").map(|s| s.len()), Ok(9));
    }

    #[test]
    fn type_names_compare_by_text_whatever_their_origin() {
        let a = TypeName::from_static("xp_gained");
        let b = TypeName::new(String::from("xp_gained")).expect("valid");
        assert_eq!(a, b);
        assert_eq!(a, "xp_gained");
        assert!(TypeName::new("").is_err());
        assert!(TypeName::new("a".repeat(MAX_TYPE_NAME_LEN + 1)).is_err());
    }

    #[test]
    fn names_deserialize_through_the_same_checks() {
        let err = serde_json::from_str::<StreamId>("\"\"").expect_err("empty");
        assert!(err.to_string().contains("stream id is empty"));
        let ok: TypeName = serde_json::from_str("\"player\"").expect("valid");
        assert_eq!(ok, "player");
    }
}
