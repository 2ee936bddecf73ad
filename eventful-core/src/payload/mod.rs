//! [`Payload`]: an event or snapshot in its serialized form, as every store keeps it, in one
//! of the [`PayloadFormat`]s: JSON (the default, which operators and other services read) or
//! postcard (compact and fast, for a store that only this program reads).
//!
//! Every payload knows its format, so a store records it beside each event and one log can
//! hold both; reading decodes each in its own. [`PayloadRef`] is a payload borrowed from a
//! store's memory, decoded without copying it.
//!
//! Encoding writes into a per-thread arena (`arena`) and hands out reference-counted slices
//! of it, or holds a payload of a few bytes in line (`held`), so appending an event costs no
//! allocation of its own and a store keeps the bytes without copying.
//!
//! | module | what lives there |
//! | --- | --- |
//! | this file | [`PayloadFormat`], [`Payload`], [`PayloadRef`], [`PayloadError`] |
//! | `json` | JSON: writing, and the nesting a payload may have |
//! | `binary` | postcard: writing through the positional guard, reading all of the bytes |
//! | `arena` | the per-thread buffer payloads are written into |
//! | `held` | a payload's bytes: in line when few, else shared |

mod arena;
mod binary;
mod held;
mod json;

use std::fmt;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use self::held::Held;
use crate::codec;

/// Why a payload could not be made or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The bytes given as a payload are not one valid JSON value.
    #[error("payload is not valid JSON: {0}")]
    InvalidJson(#[source] serde_json::Error),
    /// The value could not be serialized (a map with non-string keys, a failing `Serialize`).
    #[error("cannot serialize the value: {0}")]
    Serialize(#[source] serde_json::Error),
    /// The payload is JSON but not of the shape asked for.
    #[error("payload does not fit the expected shape: {0}")]
    Deserialize(#[source] serde_json::Error),
    /// The value nests deeper than the decoder reads back ([`MAX_DEPTH`] arrays and objects
    /// within one another): stored, it could never be decoded.
    #[error("payload nests {depth} levels deep; at most {MAX_DEPTH} can be read back")]
    TooDeep {
        /// How deep it nests.
        depth: usize,
    },
    /// The value could not be written in a binary format: postcard writes no map or sequence
    /// of unknown length (`#[serde(flatten)]`), for one.
    #[error("cannot serialize the value as {format}: {source}")]
    BinarySerialize {
        /// The format.
        format: PayloadFormat,
        /// What postcard said.
        #[source]
        source: postcard::Error,
    },
    /// The value leaves a field out (`#[serde(skip_serializing_if = ...)]`), which a format
    /// that reads fields by their place cannot read back: refused rather than misread later.
    #[error(
        "field `{field}` is skipped when serialized, which {format} cannot read back (it reads \
         fields by their place); drop `skip_serializing_if` or store this type as JSON"
    )]
    SkippedField {
        /// The field.
        field: &'static str,
        /// The format.
        format: PayloadFormat,
    },
    /// The binary payload is not of the shape asked for (or not one written by eventful).
    #[error("{format} payload does not fit the expected shape: {source}")]
    BinaryDeserialize {
        /// The format.
        format: PayloadFormat,
        /// What postcard said.
        #[source]
        source: postcard::Error,
    },
    /// The value asked for was read, and bytes are left after it: they belong to no field.
    #[error("{count} bytes left after the value in a {format} payload")]
    TrailingBytes {
        /// How many.
        count: usize,
        /// The format.
        format: PayloadFormat,
    },
    /// Only the payload's own type can read it: the format does not describe itself (postcard
    /// holds no field names and no types), so it has no JSON form without that type.
    #[error(
        "a {format} payload can only be read as its own type: the format holds no field names \
         or types"
    )]
    NotSelfDescribing {
        /// The format.
        format: PayloadFormat,
    },
}

/// How many arrays and objects a payload may nest within one another: the JSON decoder
/// refuses a value nested deeper, so a payload past it could be stored but never read back.
pub const MAX_DEPTH: usize = 127;

/// The serialized form of a payload. Each [`Payload`] carries its own, so one log may hold
/// both; a store chooses the one its new events are written in
/// ([`EventStore::payload_format`](crate::EventStore::payload_format)).
///
/// | format | size of `XpGained { amount: 100 }` | read by | self-describing |
/// | --- | --- | --- | --- |
/// | [`Json`](Self::Json) | 14 bytes, `{"amount":100}` | anything: operators, other services, the gateway, upcasters | yes |
/// | [`Postcard`](Self::Postcard) | 1 byte | the Rust type that wrote it (and upcasters given the old shape) | no |
///
/// ```
/// use eventful_core::payload::PayloadFormat;
///
/// assert_eq!(PayloadFormat::default(), PayloadFormat::Json);
/// assert_eq!("postcard".parse::<PayloadFormat>(), Ok(PayloadFormat::Postcard));
/// assert_eq!(PayloadFormat::Postcard.to_string(), "postcard");
/// assert!(!PayloadFormat::Postcard.is_self_describing());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
#[non_exhaustive]
pub enum PayloadFormat {
    /// JSON text, the content of an event's variant without its tag.
    #[default]
    Json,
    /// [postcard](https://docs.rs/postcard) 1.x: fields in declaration order without their
    /// names, integers as varints. A value that leaves a field out when serialized
    /// (`skip_serializing_if`) is refused, and so is one whose shape depends on its data
    /// (`#[serde(flatten)]`, untagged or internally tagged enums).
    Postcard,
}

impl PayloadFormat {
    /// Every format, in the order of their numbers.
    pub const ALL: [PayloadFormat; 2] = [Self::Json, Self::Postcard];

    /// The format's name, as stores and command lines write it: `json`, `postcard`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Postcard => "postcard",
        }
    }

    /// Whether a payload in this format can be read without its type: into a JSON value, by
    /// an upcaster, by a tool.
    pub const fn is_self_describing(self) -> bool {
        match self {
            Self::Json => true,
            Self::Postcard => false,
        }
    }
}

impl fmt::Display for PayloadFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of the [`PayloadFormat`]s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a payload format (json, postcard)")]
pub struct UnknownFormat(pub String);

impl std::str::FromStr for PayloadFormat {
    type Err = UnknownFormat;

    fn from_str(name: &str) -> Result<Self, UnknownFormat> {
        Self::ALL
            .into_iter()
            .find(|format| format.name() == name)
            .ok_or_else(|| UnknownFormat(name.to_owned()))
    }
}

/// An event or snapshot serialized in a [`PayloadFormat`]. Clones share the bytes.
///
/// ```
/// use eventful_core::Payload;
/// use eventful_core::payload::PayloadFormat;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, PartialEq, Debug)]
/// struct XpGained { amount: u64 }
///
/// let payload = Payload::encode(&XpGained { amount: 100 })?;
/// assert_eq!(payload.as_bytes(), br#"{"amount":100}"#);
/// assert_eq!(payload.decode::<XpGained>()?, XpGained { amount: 100 });
///
/// let compact = Payload::encode_as(&XpGained { amount: 100 }, PayloadFormat::Postcard)?;
/// assert_eq!((compact.format(), compact.as_bytes()), (PayloadFormat::Postcard, &[100][..]));
/// assert_eq!(compact.decode::<XpGained>()?, XpGained { amount: 100 });
/// # Ok::<(), eventful_core::PayloadError>(())
/// ```
#[derive(Clone)]
pub struct Payload {
    bytes: Held,
    format: PayloadFormat,
}

impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.as_payload_ref() == other.as_payload_ref()
    }
}

impl Eq for Payload {}

impl std::hash::Hash for Payload {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_payload_ref().hash(state);
    }
}

impl Payload {
    /// Serializes `value` as JSON.
    pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Self, PayloadError> {
        Self::encode_as(value, PayloadFormat::Json)
    }

    /// Serializes `value` in `format`.
    pub fn encode_as<T: Serialize + ?Sized>(
        value: &T,
        format: PayloadFormat,
    ) -> Result<Self, PayloadError> {
        let bytes = match format {
            PayloadFormat::Json => {
                let bytes = arena::write_with(|out| json::write(out, value))
                    .map_err(PayloadError::Serialize)?;
                json::check_depth(bytes.as_slice())?;
                bytes
            }
            PayloadFormat::Postcard => arena::write_with(|out| binary::write(out, value))?,
        };
        Ok(Self { bytes, format })
    }

    /// Serializes the content of an enum variant as JSON, without the variant's tag: the
    /// variant's name is stored beside the payload, as the event type. Used by
    /// `#[derive(Event)]`.
    ///
    /// A unit variant becomes `{}`; a newtype variant its inner value; a struct variant an
    /// object of its fields. A value that is not an enum serializes as [`Payload::encode`] would.
    ///
    /// ```
    /// use eventful_core::Payload;
    ///
    /// #[derive(serde::Serialize)]
    /// enum PlayerEvent { XpGained { amount: u64 }, Retired }
    ///
    /// let payload = Payload::encode_variant_content(&PlayerEvent::XpGained { amount: 5 })?;
    /// assert_eq!(payload.as_bytes(), br#"{"amount":5}"#);
    /// let payload = Payload::encode_variant_content(&PlayerEvent::Retired)?;
    /// assert_eq!(payload.as_bytes(), b"{}");
    /// # Ok::<(), eventful_core::PayloadError>(())
    /// ```
    pub fn encode_variant_content<T: Serialize + ?Sized>(value: &T) -> Result<Self, PayloadError> {
        Self::encode_variant_content_as(value, PayloadFormat::Json)
    }

    /// Serializes the content of an enum variant in `format`, without the variant's tag (see
    /// [`Payload::encode_variant_content`]). In postcard a unit variant is no bytes at all.
    ///
    /// ```
    /// use eventful_core::Payload;
    /// use eventful_core::payload::PayloadFormat;
    ///
    /// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    /// enum PlayerEvent { Created { name: String }, XpGained { amount: u64 } }
    ///
    /// let event = PlayerEvent::XpGained { amount: 300 };
    /// let payload = Payload::encode_variant_content_as(&event, PayloadFormat::Postcard)?;
    /// assert_eq!(payload.as_bytes(), [0xac, 0x02]);
    /// assert_eq!(payload.decode_variant::<PlayerEvent>(1)?, event);
    /// # Ok::<(), eventful_core::PayloadError>(())
    /// ```
    pub fn encode_variant_content_as<T: Serialize + ?Sized>(
        value: &T,
        format: PayloadFormat,
    ) -> Result<Self, PayloadError> {
        let bytes = match format {
            PayloadFormat::Json => {
                let bytes = arena::write_with(|out| json::write_variant_content(out, value))
                    .map_err(PayloadError::Serialize)?;
                json::check_depth(bytes.as_slice())?;
                bytes
            }
            PayloadFormat::Postcard => {
                arena::write_with(|out| binary::write_variant_content(out, value))?
            }
        };
        Ok(Self { bytes, format })
    }

    /// Takes JSON text, checking that it is one JSON value the decoder reads back: valid, not
    /// nested deeper than [`MAX_DEPTH`], with no number beyond what a float holds (`1e400`)
    /// and no lone surrogate escape (`"\ud800"`).
    ///
    /// ```
    /// use eventful_core::{Payload, PayloadError};
    ///
    /// assert!(Payload::from_json_slice(br#"{"amount":100}"#).is_ok());
    /// assert!(matches!(Payload::from_json_slice(b"1e400"), Err(PayloadError::InvalidJson(_))));
    /// assert!(matches!(Payload::from_json_slice(br#""\ud800""#), Err(PayloadError::InvalidJson(_))));
    /// let deep = format!("{}{}", "[".repeat(128), "]".repeat(128));
    /// assert!(matches!(Payload::from_json_slice(deep.as_bytes()), Err(PayloadError::TooDeep { depth: 128 })));
    /// ```
    pub fn from_json_slice(json: &[u8]) -> Result<Self, PayloadError> {
        Self::from_json_bytes(Bytes::copy_from_slice(json))
    }

    /// Takes JSON text a store made itself from what it holds (MongoDB's BSON, turned into
    /// JSON by its own writer), checking only the nesting: the text is valid JSON with
    /// readable numbers and escapes by construction, and reading each stored event back whole
    /// a second time would cost every read a tree of allocations.
    ///
    /// ```
    /// use eventful_core::{Payload, PayloadError};
    ///
    /// assert!(Payload::from_stored_json(bytes::Bytes::from_static(br#"{"xp":1}"#)).is_ok());
    /// let deep = "[".repeat(128) + &"]".repeat(128);
    /// assert!(matches!(Payload::from_stored_json(deep.into()), Err(PayloadError::TooDeep { .. })));
    /// ```
    pub fn from_stored_json(json: Bytes) -> Result<Self, PayloadError> {
        json::check_depth(&json)?;
        Ok(Self::json_unchecked(json))
    }

    /// Takes JSON text without copying it, with the checks of [`Payload::from_json_slice`].
    pub fn from_json_bytes(json: Bytes) -> Result<Self, PayloadError> {
        json::check_depth(&json)?;
        // Read it back whole, as a decoder would: numbers, escapes and all.
        serde_json::from_slice::<serde_json::Value>(&json).map_err(PayloadError::InvalidJson)?;
        Ok(Self::json_unchecked(json))
    }

    /// Takes the bytes a store kept of a payload of `format`, as [`Payload::from_stored_json`]
    /// takes JSON: JSON is checked for its nesting; postcard cannot be checked without the
    /// type it holds, which tells when it is decoded.
    ///
    /// ```
    /// use eventful_core::Payload;
    /// use eventful_core::payload::PayloadFormat;
    ///
    /// let stored = Payload::from_stored(bytes::Bytes::from_static(&[100]), PayloadFormat::Postcard)?;
    /// assert_eq!(stored.decode::<u64>()?, 100);
    /// # Ok::<(), eventful_core::PayloadError>(())
    /// ```
    pub fn from_stored(bytes: Bytes, format: PayloadFormat) -> Result<Self, PayloadError> {
        match format {
            PayloadFormat::Json => Self::from_stored_json(bytes),
            PayloadFormat::Postcard => Ok(Self::from_kept(bytes, format)),
        }
    }

    /// Takes back the bytes of a payload a store was given (made, and checked, by this type's
    /// constructors) and kept as they were, in `format`, without checking them again: what a
    /// store that copies payloads into memory of its own hands back on a read. Bytes that are
    /// not such a payload fail when decoded.
    ///
    /// ```
    /// use eventful_core::{Payload, PayloadFormat};
    ///
    /// let given = Payload::encode(&[1, 2])?;
    /// let kept = bytes::Bytes::copy_from_slice(given.as_bytes());
    /// assert_eq!(Payload::from_kept(kept, given.format()), given);
    /// # Ok::<(), eventful_core::PayloadError>(())
    /// ```
    pub fn from_kept(bytes: Bytes, format: PayloadFormat) -> Self {
        Self {
            bytes: Held::from(bytes),
            format,
        }
    }

    fn json_unchecked(bytes: Bytes) -> Self {
        Self::from_kept(bytes, PayloadFormat::Json)
    }

    /// The payload borrowed, for code that reads payloads in place.
    pub fn as_payload_ref(&self) -> PayloadRef<'_> {
        PayloadRef {
            bytes: self.bytes.as_slice(),
            format: self.format,
        }
    }

    /// The format the payload is written in.
    pub fn format(&self) -> PayloadFormat {
        self.format
    }

    /// Deserializes the payload, in its own format.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        self.as_payload_ref().decode()
    }

    /// Deserializes the payload as the content of the `index`-th variant of enum `T` (counting
    /// from 0 in declaration order): the inverse of [`Payload::encode_variant_content`].
    ///
    /// ```
    /// use eventful_core::Payload;
    ///
    /// #[derive(serde::Deserialize, PartialEq, Debug)]
    /// enum PlayerEvent { Created { name: String }, XpGained { amount: u64 } }
    ///
    /// let payload = Payload::from_json_slice(br#"{"amount":5}"#)?;
    /// assert_eq!(payload.decode_variant::<PlayerEvent>(1)?, PlayerEvent::XpGained { amount: 5 });
    /// assert!(payload.decode_variant::<PlayerEvent>(0).is_err());
    /// # Ok::<(), eventful_core::PayloadError>(())
    /// ```
    pub fn decode_variant<T: DeserializeOwned>(&self, index: u32) -> Result<T, PayloadError> {
        self.as_payload_ref().decode_variant(index)
    }

    /// The payload as a JSON value, for tools that do not know its type. A payload in a
    /// format that does not describe itself has none:
    /// [`PayloadError::NotSelfDescribing`].
    pub fn to_value(&self) -> Result<serde_json::Value, PayloadError> {
        self.as_payload_ref().to_value()
    }

    /// The bytes as stored: JSON text, or postcard (see [`Payload::format`]).
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.as_slice()
    }

    /// The bytes as shared bytes (copied, when they are few and held in line).
    pub fn into_bytes(self) -> Bytes {
        self.bytes.into_bytes()
    }

    /// Length of the bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether there are no bytes: never true of JSON made by this type's constructors; a
    /// unit variant's content in postcard.
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Payload")
            .field(&format_args!("{}", self.as_payload_ref()))
            .finish()
    }
}

impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.as_payload_ref(), f)
    }
}

/// A payload borrowed from where it is kept (a store's memory), read in place: what a store
/// hands to [`EventStore::visit_stream`](crate::EventStore::visit_stream)'s visitor.
///
/// ```
/// use eventful_core::payload::{PayloadFormat, PayloadRef};
///
/// let stored = [0xac, 0x02];
/// let payload = PayloadRef::new(&stored, PayloadFormat::Postcard);
/// assert_eq!(payload.decode::<u64>()?, 300);
/// assert_eq!(payload.to_payload().as_bytes(), stored);
/// # Ok::<(), eventful_core::PayloadError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PayloadRef<'a> {
    bytes: &'a [u8],
    format: PayloadFormat,
}

impl<'a> PayloadRef<'a> {
    /// The payload whose bytes in `format` are `bytes`.
    pub fn new(bytes: &'a [u8], format: PayloadFormat) -> Self {
        Self { bytes, format }
    }

    /// The format the payload is written in.
    pub fn format(self) -> PayloadFormat {
        self.format
    }

    /// The bytes as stored.
    pub fn as_bytes(self) -> &'a [u8] {
        self.bytes
    }

    /// A payload of its own, with the bytes copied.
    pub fn to_payload(self) -> Payload {
        Payload {
            bytes: Held::inline(self.bytes)
                .unwrap_or_else(|| Held::from(Bytes::copy_from_slice(self.bytes))),
            format: self.format,
        }
    }

    /// Deserializes the payload, in its own format.
    pub fn decode<T: DeserializeOwned>(self) -> Result<T, PayloadError> {
        match self.format {
            PayloadFormat::Json => {
                serde_json::from_slice(self.bytes).map_err(PayloadError::Deserialize)
            }
            PayloadFormat::Postcard => binary::read(self.bytes),
        }
    }

    /// Deserializes the payload as the content of the `index`-th variant of enum `T`, as
    /// [`Payload::decode_variant`] does.
    pub fn decode_variant<T: DeserializeOwned>(self, index: u32) -> Result<T, PayloadError> {
        match self.format {
            PayloadFormat::Json => {
                let mut content = serde_json::Deserializer::from_slice(self.bytes);
                let value = T::deserialize(codec::VariantDeserializer::new(
                    index,
                    &mut content,
                    codec::UnitContent::EmptyMap,
                ))
                .map_err(PayloadError::Deserialize)?;
                content.end().map_err(PayloadError::Deserialize)?;
                Ok(value)
            }
            PayloadFormat::Postcard => binary::read_variant(self.bytes, index),
        }
    }

    /// The payload as a JSON value, for tools that do not know its type (see
    /// [`Payload::to_value`]).
    pub fn to_value(self) -> Result<serde_json::Value, PayloadError> {
        match self.format {
            PayloadFormat::Json => self.decode(),
            format => Err(PayloadError::NotSelfDescribing { format }),
        }
    }
}

impl fmt::Debug for PayloadRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PayloadRef")
            .field(&format_args!("{self}"))
            .finish()
    }
}

/// JSON as its text; a binary format as its name and bytes in hex (`postcard:ac02`).
impl fmt::Display for PayloadRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.format {
            PayloadFormat::Json => f.write_str(&String::from_utf8_lossy(self.bytes)),
            format => {
                write!(f, "{format}:")?;
                self.bytes
                    .iter()
                    .try_for_each(|byte| write!(f, "{byte:02x}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_decoder_cannot_read_back_is_refused_by_every_constructor() {
        let nested = |levels: usize| {
            (0..levels).fold(serde_json::Value::Null, |inner, _| {
                serde_json::json!([inner])
            })
        };
        assert!(Payload::encode(&nested(MAX_DEPTH)).is_ok());
        assert!(matches!(
            Payload::encode(&nested(MAX_DEPTH + 1)),
            Err(PayloadError::TooDeep { depth: 128 })
        ));
        let round_trip = Payload::encode(&nested(MAX_DEPTH)).expect("encodes");
        assert!(
            round_trip.to_value().is_ok(),
            "the deepest accepted payload reads back"
        );
        // Brackets inside strings are not nesting.
        let text = format!("\"{}\\\"{}\"", "[".repeat(200), "{".repeat(200));
        assert!(Payload::from_json_slice(text.as_bytes()).is_ok());
        for unreadable in [&b"1e400"[..], br#"{"a":-1e999}"#, br#"["\udc00"]"#] {
            assert!(
                matches!(
                    Payload::from_json_slice(unreadable),
                    Err(PayloadError::InvalidJson(_))
                ),
                "{}",
                String::from_utf8_lossy(unreadable)
            );
        }
    }

    #[test]
    fn invalid_json_is_refused() {
        assert!(matches!(
            Payload::from_json_slice(b"{\"a\":"),
            Err(PayloadError::InvalidJson(_))
        ));
        assert!(Payload::from_json_slice(b"{} {}").is_err());
        assert!(Payload::from_json_slice(b"").is_err());
    }

    #[test]
    fn a_failed_encoding_leaves_the_arena_clean() {
        use std::collections::HashMap;
        let mut bad = HashMap::new();
        bad.insert(vec![1u8], 1);
        assert!(matches!(
            Payload::encode(&bad),
            Err(PayloadError::Serialize(_))
        ));
        let good = Payload::encode(&42).expect("encodes");
        assert_eq!(good.as_bytes(), b"42");
    }

    #[test]
    fn payloads_from_the_arena_stay_intact_across_chunks() {
        let payloads: Vec<_> = (0..20_000u32)
            .map(|i| (i, Payload::encode(&i).expect("encodes")))
            .collect();
        for (i, payload) in payloads {
            assert_eq!(payload.decode::<u32>().expect("decodes"), i);
        }
    }

    #[test]
    fn trailing_bytes_after_variant_content_are_refused() {
        #[derive(serde::Deserialize, Debug)]
        enum E {
            A { _x: u8 },
        }
        let payload = Payload::json_unchecked(Bytes::from_static(br#"{"_x":1} 7"#));
        assert!(payload.decode_variant::<E>(0).is_err());
    }

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq, Clone)]
    enum Every {
        Unit,
        Newtype(String),
        Tuple(u8, i64),
        Struct { amount: u64, note: Option<String> },
    }

    #[test]
    fn every_variant_kind_round_trips_in_postcard_without_its_tag() {
        let cases = [
            (Every::Unit, 0, &[][..]),
            (Every::Newtype("ab".into()), 1, &[2, b'a', b'b'][..]),
            (Every::Tuple(7, -1), 2, &[7, 1][..]),
            (
                Every::Struct {
                    amount: 300,
                    note: None,
                },
                3,
                &[0xac, 0x02, 0][..],
            ),
        ];
        for (value, index, bytes) in cases {
            let payload = Payload::encode_variant_content_as(&value, PayloadFormat::Postcard)
                .expect("encodes");
            assert_eq!(payload.as_bytes(), bytes, "{value:?}");
            assert_eq!(payload.format(), PayloadFormat::Postcard);
            assert_eq!(
                payload.decode_variant::<Every>(index).expect("decodes"),
                value
            );
            let borrowed = PayloadRef::new(bytes, PayloadFormat::Postcard);
            assert_eq!(
                borrowed.decode_variant::<Every>(index).expect("decodes"),
                value
            );
        }
    }

    #[test]
    fn postcard_payloads_are_read_whole_and_only_as_their_type() {
        let payload = Payload::encode_as(&(1u8, 2u8), PayloadFormat::Postcard).expect("encodes");
        assert!(matches!(
            payload.decode::<u8>(),
            Err(PayloadError::TrailingBytes { count: 1, .. })
        ));
        assert!(matches!(
            payload.decode::<(u8, u8, u8)>(),
            Err(PayloadError::BinaryDeserialize { .. })
        ));
        assert!(matches!(
            payload.to_value(),
            Err(PayloadError::NotSelfDescribing {
                format: PayloadFormat::Postcard
            })
        ));
        assert_eq!(payload.to_string(), "postcard:0102");
        let unit = Payload::encode_variant_content_as(&Every::Unit, PayloadFormat::Postcard)
            .expect("encodes");
        assert!(unit.is_empty());
        assert!(matches!(
            unit.decode_variant::<Every>(1),
            Err(PayloadError::BinaryDeserialize { .. })
        ));
    }

    #[test]
    fn stored_bytes_keep_their_format_and_json_is_still_checked() {
        let stored = Payload::from_stored(Bytes::from_static(&[5]), PayloadFormat::Postcard)
            .expect("postcard is taken as it is");
        assert_eq!(stored.decode::<u8>().expect("decodes"), 5);
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(matches!(
            Payload::from_stored(deep.into(), PayloadFormat::Json),
            Err(PayloadError::TooDeep { .. })
        ));
        assert_ne!(
            Payload::encode_as(&1u8, PayloadFormat::Json).expect("encodes"),
            Payload::from_stored(Bytes::from_static(b"1"), PayloadFormat::Postcard).expect("kept"),
            "the same bytes in two formats are two payloads"
        );
    }

    #[test]
    fn format_names_parse_back() {
        for format in PayloadFormat::ALL {
            assert_eq!(format.name().parse::<PayloadFormat>(), Ok(format));
        }
        assert!("bson".parse::<PayloadFormat>().is_err());
    }
}
