//! What makes JSON text a payload: readable back by the decoder, and not nested deeper than
//! it reads.

use bytes::BufMut;
use bytes::BytesMut;
use serde::Serialize;

use super::{MAX_DEPTH, PayloadError};
use crate::codec::{ContentSerializer, UnitContent};

/// Writes `value` as JSON at the end of `out`.
pub(super) fn write<T: Serialize + ?Sized>(
    out: &mut BytesMut,
    value: &T,
) -> Result<(), serde_json::Error> {
    serde_json::to_writer(out.writer(), value)
}

/// Writes the content of `value`'s variant (see `Payload::encode_variant_content`).
pub(super) fn write_variant_content<T: Serialize + ?Sized>(
    out: &mut BytesMut,
    value: &T,
) -> Result<(), serde_json::Error> {
    let mut serializer = serde_json::Serializer::new(out.writer());
    value.serialize(ContentSerializer::new(
        &mut serializer,
        UnitContent::EmptyMap,
    ))
}

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

/// Refuses JSON the decoder could not read back for its nesting.
pub(super) fn check_depth(json: &[u8]) -> Result<(), PayloadError> {
    match depth(json) {
        depth if depth > MAX_DEPTH => Err(PayloadError::TooDeep { depth }),
        _ => Ok(()),
    }
}
