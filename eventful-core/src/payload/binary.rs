//! The postcard form of a payload: fields in declaration order without their names, integers
//! as varints. Written through [`Positional`], which refuses what postcard could not read back.

use bytes::BytesMut;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{PayloadError, PayloadFormat};
use crate::codec::positional::{Positional, SkippedField};
use crate::codec::{ContentSerializer, UnitContent, VariantDeserializer};

/// postcard's output into the end of a buffer.
struct Into<'a>(&'a mut BytesMut);

impl postcard::ser_flavors::Flavor for Into<'_> {
    type Output = ();

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.0.extend_from_slice(data);
        Ok(())
    }

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.extend_from_slice(&[data]);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// The refusal of a serialization, naming the field the guard refused if that was the cause.
fn serialize_error(source: postcard::Error, skipped: &SkippedField) -> PayloadError {
    match skipped.take() {
        Some(field) => PayloadError::SkippedField {
            field,
            format: PayloadFormat::Postcard,
        },
        None => PayloadError::BinarySerialize {
            format: PayloadFormat::Postcard,
            source,
        },
    }
}

/// Writes `value` at the end of `out`.
pub(super) fn write<T: Serialize + ?Sized>(
    out: &mut BytesMut,
    value: &T,
) -> Result<(), PayloadError> {
    let skipped = SkippedField::default();
    let mut serializer = postcard::Serializer { output: Into(out) };
    value
        .serialize(Positional::new(&mut serializer, &skipped))
        .map_err(|source| serialize_error(source, &skipped))
}

/// Writes the content of `value`'s variant (see `Payload::encode_variant_content_as`).
pub(super) fn write_variant_content<T: Serialize + ?Sized>(
    out: &mut BytesMut,
    value: &T,
) -> Result<(), PayloadError> {
    let skipped = SkippedField::default();
    let mut serializer = postcard::Serializer { output: Into(out) };
    value
        .serialize(ContentSerializer::new(
            Positional::new(&mut serializer, &skipped),
            UnitContent::Nothing,
        ))
        .map_err(|source| serialize_error(source, &skipped))
}

fn deserialize_error(source: postcard::Error) -> PayloadError {
    PayloadError::BinaryDeserialize {
        format: PayloadFormat::Postcard,
        source,
    }
}

/// Refuses bytes left over after the value: they belong to no field of it.
fn end(rest: &[u8]) -> Result<(), PayloadError> {
    match rest.len() {
        0 => Ok(()),
        count => Err(PayloadError::TrailingBytes {
            count,
            format: PayloadFormat::Postcard,
        }),
    }
}

/// Reads `T` from all of `bytes`.
pub(super) fn read<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, PayloadError> {
    let mut deserializer = postcard::Deserializer::from_bytes(bytes);
    let value = T::deserialize(&mut deserializer).map_err(deserialize_error)?;
    end(deserializer.finalize().map_err(deserialize_error)?)?;
    Ok(value)
}

/// Reads the `index`-th variant of `T` from all of `bytes`, its content alone.
pub(super) fn read_variant<T: DeserializeOwned>(
    bytes: &[u8],
    index: u32,
) -> Result<T, PayloadError> {
    let mut deserializer = postcard::Deserializer::from_bytes(bytes);
    let value = T::deserialize(VariantDeserializer::new(
        index,
        &mut deserializer,
        UnitContent::Nothing,
    ))
    .map_err(deserialize_error)?;
    end(deserializer.finalize().map_err(deserialize_error)?)?;
    Ok(value)
}
