//! Serde adapters that store an enum variant's content apart from its tag.
//!
//! An event store keeps the event type (`"xp_gained"`) beside the payload, so the payload of
//! `PlayerEvent::XpGained { amount: 100 }` should read `{"amount":100}`, not
//! `{"XpGained":{"amount":100}}`. [`ContentSerializer`] drops the tag on the way out;
//! [`VariantDeserializer`] puts it back on the way in, naming the variant by its index so that
//! every `#[serde(...)]` attribute on the enum keeps working. Both work over any serde format;
//! [`positional`] guards the formats that read fields by their place.

pub(crate) mod positional;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, VariantAccess, Visitor,
};
use serde::ser::{self, Serialize, Serializer};

/// How the content of a unit variant is written and read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnitContent {
    /// As an empty map, so that every payload of an event enum is a document (which document
    /// stores index and query); read back as any value (older writers stored `null`). For
    /// self-describing formats.
    EmptyMap,
    /// As nothing at all: a positional format has no documents, and cannot skip a value it
    /// does not know the shape of.
    Nothing,
}

/// Serializes a value as its inner serializer would, except that an enum variant is written
/// as its content alone.
pub(crate) struct ContentSerializer<S> {
    inner: S,
    unit: UnitContent,
}

impl<S> ContentSerializer<S> {
    pub(crate) fn new(inner: S, unit: UnitContent) -> Self {
        Self { inner, unit }
    }
}

/// Serializes a tuple variant's fields as a plain tuple.
pub(crate) struct TupleContent<T>(T);

/// Serializes a struct variant's fields as a plain struct.
pub(crate) struct StructContent<T>(T);

impl<T: ser::SerializeTuple> ser::SerializeTupleVariant for TupleContent<T> {
    type Ok = T::Ok;
    type Error = T::Error;
    fn serialize_field<V: Serialize + ?Sized>(&mut self, value: &V) -> Result<(), T::Error> {
        self.0.serialize_element(value)
    }
    fn end(self) -> Result<T::Ok, T::Error> {
        self.0.end()
    }
}

impl<T: ser::SerializeStruct> ser::SerializeStructVariant for StructContent<T> {
    type Ok = T::Ok;
    type Error = T::Error;
    fn serialize_field<V: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &V,
    ) -> Result<(), T::Error> {
        self.0.serialize_field(key, value)
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), T::Error> {
        self.0.skip_field(key)
    }
    fn end(self) -> Result<T::Ok, T::Error> {
        self.0.end()
    }
}

macro_rules! forward_serialize {
    ($($method:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        $(
            fn $method(self, $($arg: $ty),*) -> Result<$ret, S::Error> {
                self.inner.$method($($arg),*)
            }
        )*
    };
}

impl<S: Serializer> Serializer for ContentSerializer<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = S::SerializeSeq;
    type SerializeTuple = S::SerializeTuple;
    type SerializeTupleStruct = S::SerializeTupleStruct;
    type SerializeTupleVariant = TupleContent<S::SerializeTuple>;
    type SerializeMap = S::SerializeMap;
    type SerializeStruct = S::SerializeStruct;
    type SerializeStructVariant = StructContent<S::SerializeStruct>;

    forward_serialize! {
        serialize_bool(v: bool) -> S::Ok;
        serialize_i8(v: i8) -> S::Ok;
        serialize_i16(v: i16) -> S::Ok;
        serialize_i32(v: i32) -> S::Ok;
        serialize_i64(v: i64) -> S::Ok;
        serialize_i128(v: i128) -> S::Ok;
        serialize_u8(v: u8) -> S::Ok;
        serialize_u16(v: u16) -> S::Ok;
        serialize_u32(v: u32) -> S::Ok;
        serialize_u64(v: u64) -> S::Ok;
        serialize_u128(v: u128) -> S::Ok;
        serialize_f32(v: f32) -> S::Ok;
        serialize_f64(v: f64) -> S::Ok;
        serialize_char(v: char) -> S::Ok;
        serialize_str(v: &str) -> S::Ok;
        serialize_bytes(v: &[u8]) -> S::Ok;
        serialize_none() -> S::Ok;
        serialize_unit() -> S::Ok;
        serialize_unit_struct(name: &'static str) -> S::Ok;
        serialize_seq(len: Option<usize>) -> S::SerializeSeq;
        serialize_tuple(len: usize) -> S::SerializeTuple;
        serialize_tuple_struct(name: &'static str, len: usize) -> S::SerializeTupleStruct;
        serialize_map(len: Option<usize>) -> S::SerializeMap;
        serialize_struct(name: &'static str, len: usize) -> S::SerializeStruct;
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.inner.serialize_some(value)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.inner.serialize_newtype_struct(name, value)
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
    ) -> Result<S::Ok, S::Error> {
        match self.unit {
            UnitContent::EmptyMap => ser::SerializeMap::end(self.inner.serialize_map(Some(0))?),
            UnitContent::Nothing => self.inner.serialize_unit(),
        }
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        value.serialize(self.inner)
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        self.inner.serialize_tuple(len).map(TupleContent)
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        _index: u32,
        _variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        self.inner.serialize_struct(name, len).map(StructContent)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// Deserializes an enum whose variant is known (by index) from the variant's content alone.
pub(crate) struct VariantDeserializer<D> {
    index: u32,
    content: D,
    unit: UnitContent,
}

impl<D> VariantDeserializer<D> {
    pub(crate) fn new(index: u32, content: D, unit: UnitContent) -> Self {
        Self {
            index,
            content,
            unit,
        }
    }
}

macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
                self.content.$method($($arg,)* visitor)
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for VariantDeserializer<D> {
    type Error = D::Error;

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        visitor.visit_enum(self)
    }

    forward_deserialize! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_identifier();
        deserialize_ignored_any();
    }

    fn is_human_readable(&self) -> bool {
        self.content.is_human_readable()
    }
}

impl<'de, D: Deserializer<'de>> EnumAccess<'de> for VariantDeserializer<D> {
    type Error = D::Error;
    type Variant = ContentAccess<D>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, ContentAccess<D>), D::Error> {
        let index: de::value::U32Deserializer<D::Error> = self.index.into_deserializer();
        let variant = seed.deserialize(index)?;
        Ok((variant, ContentAccess(self.content, self.unit)))
    }
}

/// The content of a variant already chosen by [`VariantDeserializer`].
pub(crate) struct ContentAccess<D>(D, UnitContent);

impl<'de, D: Deserializer<'de>> VariantAccess<'de> for ContentAccess<D> {
    type Error = D::Error;

    fn unit_variant(self) -> Result<(), D::Error> {
        match self.1 {
            // Written as `{}`; older writers may have stored `null`. Either carries nothing.
            UnitContent::EmptyMap => {
                <de::IgnoredAny as de::Deserialize>::deserialize(self.0).map(|_| ())
            }
            UnitContent::Nothing => <() as de::Deserialize>::deserialize(self.0),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, D::Error> {
        seed.deserialize(self.0)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_struct("", fields, visitor)
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use crate::Payload;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Named {
        name: String,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    enum Every {
        Unit,
        Newtype(Named),
        Primitive(u64),
        Tuple(u8, String),
        Struct {
            #[serde(rename = "amt")]
            amount: u64,
            #[serde(default)]
            note: Option<String>,
        },
    }

    fn round_trip(value: Every, index: u32, json: &str) {
        let payload = Payload::encode_variant_content(&value).expect("encodes");
        assert_eq!(std::str::from_utf8(payload.as_bytes()), Ok(json));
        assert_eq!(
            payload.decode_variant::<Every>(index).expect("decodes"),
            value
        );
    }

    #[test]
    fn every_variant_kind_round_trips_without_its_tag() {
        round_trip(Every::Unit, 0, "{}");
        round_trip(
            Every::Newtype(Named { name: "ana".into() }),
            1,
            r#"{"name":"ana"}"#,
        );
        round_trip(Every::Primitive(7), 2, "7");
        round_trip(Every::Tuple(1, "x".into()), 3, r#"[1,"x"]"#);
        round_trip(
            Every::Struct {
                amount: 5,
                note: None,
            },
            4,
            r#"{"amt":5,"note":null}"#,
        );
    }

    #[test]
    fn field_defaults_and_older_unit_payloads_still_decode() {
        let payload = Payload::from_json_slice(br#"{"amt":5}"#).expect("json");
        assert_eq!(
            payload.decode_variant::<Every>(4).expect("decodes"),
            Every::Struct {
                amount: 5,
                note: None
            }
        );
        let null = Payload::from_json_slice(b"null").expect("json");
        assert_eq!(
            null.decode_variant::<Every>(0).expect("decodes"),
            Every::Unit
        );
    }

    #[test]
    fn a_variant_index_out_of_range_is_an_error() {
        let payload = Payload::from_json_slice(b"{}").expect("json");
        let err = payload
            .decode_variant::<Every>(9)
            .expect_err("no variant 9");
        assert!(err.to_string().contains("variant index"), "{err}");
    }

    #[test]
    fn internally_tagged_enums_keep_their_own_tag() {
        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        #[serde(tag = "kind")]
        enum Tagged {
            A { x: u8 },
        }
        let payload = Payload::encode_variant_content(&Tagged::A { x: 1 }).expect("encodes");
        assert_eq!(payload.as_bytes(), br#"{"kind":"A","x":1}"#);
        assert_eq!(
            payload.decode_variant::<Tagged>(0).expect("decodes"),
            Tagged::A { x: 1 }
        );
    }
}
