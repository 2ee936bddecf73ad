//! [`Payload`]: an event or snapshot in its serialized form (JSON), as every store keeps it.
//!
//! Encoding writes into a per-thread arena and hands out reference-counted slices of it, so
//! appending an event costs no allocation of its own and a store keeps the bytes without copying.

use std::cell::RefCell;
use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use serde::de::DeserializeOwned;

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
}

/// How many arrays and objects a payload may nest within one another: the JSON decoder
/// refuses a value nested deeper, so a payload past it could be stored but never read back.
pub const MAX_DEPTH: usize = 127;

/// How deeply `json` nests arrays and objects (strings skipped, escapes included).
fn depth(json: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &byte in json {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Refuses what the decoder could not read back.
fn readable(payload: Payload) -> Result<Payload, PayloadError> {
    match depth(&payload.0) {
        depth if depth > MAX_DEPTH => Err(PayloadError::TooDeep { depth }),
        _ => Ok(payload),
    }
}

/// Bytes reserved in the encoding arena at a time.
const ARENA_CHUNK: usize = 64 * 1024;
/// Below this much room left, the arena starts a fresh chunk before encoding.
const ARENA_LOW_WATER: usize = 1024;

thread_local! {
    static ARENA: RefCell<BytesMut> = RefCell::new(BytesMut::new());
}

/// An event or snapshot serialized as JSON. Clones share the bytes.
///
/// ```
/// use eventful_core::Payload;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, PartialEq, Debug)]
/// struct XpGained { amount: u64 }
///
/// let payload = Payload::encode(&XpGained { amount: 100 })?;
/// assert_eq!(payload.as_bytes(), br#"{"amount":100}"#);
/// assert_eq!(payload.decode::<XpGained>()?, XpGained { amount: 100 });
/// # Ok::<(), eventful_core::PayloadError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Payload(Bytes);

impl Payload {
    /// Serializes `value` as JSON.
    pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Self, PayloadError> {
        write_with(|out| serde_json::to_writer(out, value))
            .map_err(PayloadError::Serialize)
            .and_then(readable)
    }

    /// Serializes the content of an enum variant without the variant's tag: the variant's
    /// name is stored beside the payload, as the event type. Used by `#[derive(Event)]`.
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
        write_with(|out| {
            let mut serializer = serde_json::Serializer::new(out);
            value.serialize(codec::ContentSerializer::new(&mut serializer))
        })
        .map_err(PayloadError::Serialize)
        .and_then(readable)
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
        readable(Self(json))
    }

    /// Takes JSON text without copying it, with the checks of [`Payload::from_json_slice`].
    pub fn from_json_bytes(json: Bytes) -> Result<Self, PayloadError> {
        let payload = readable(Self(json))?;
        // Read it back whole, as a decoder would: numbers, escapes and all.
        serde_json::from_slice::<serde_json::Value>(&payload.0)
            .map_err(PayloadError::InvalidJson)?;
        Ok(payload)
    }

    /// Deserializes the payload.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        serde_json::from_slice(&self.0).map_err(PayloadError::Deserialize)
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
        let mut content = serde_json::Deserializer::from_slice(&self.0);
        let value = T::deserialize(codec::VariantDeserializer::new(index, &mut content))
            .map_err(PayloadError::Deserialize)?;
        content.end().map_err(PayloadError::Deserialize)?;
        Ok(value)
    }

    /// The payload as a JSON value, for tools that do not know its type.
    pub fn to_value(&self) -> Result<serde_json::Value, PayloadError> {
        self.decode()
    }

    /// The JSON text.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The JSON text as shared bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length of the JSON text in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the JSON text is empty; never true of a payload made by this type's constructors.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Payload")
            .field(&String::from_utf8_lossy(&self.0))
            .finish()
    }
}

impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

/// Runs `write` against this thread's arena and freezes what it wrote as a payload.
fn write_with(
    write: impl FnOnce(&mut bytes::buf::Writer<&mut BytesMut>) -> Result<(), serde_json::Error>,
) -> Result<Payload, serde_json::Error> {
    ARENA.with(|arena| match arena.try_borrow_mut() {
        Ok(mut buffer) => {
            if buffer.capacity() - buffer.len() < ARENA_LOW_WATER {
                buffer.reserve(ARENA_CHUNK);
            }
            let result = write(&mut (&mut *buffer).writer());
            let written = buffer.split();
            result.map(|()| Payload(written.freeze()))
        }
        // A `Serialize` impl that itself encodes a payload: give it a buffer of its own.
        Err(_) => {
            let mut buffer = BytesMut::new();
            write(&mut (&mut buffer).writer()).map(|()| Payload(buffer.freeze()))
        }
    })
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
        let payload = Payload(Bytes::from_static(br#"{"_x":1} 7"#));
        assert!(payload.decode_variant::<E>(0).is_err());
    }
}
