//! [`Positional`]: a serializer wrapper for formats that read fields by their place (postcard),
//! which refuses a skipped field at any depth.
//!
//! A positional format writes a struct's fields one after the other, without their names, and
//! reads them back in the same order. A field left out by `#[serde(skip_serializing_if = ...)]`
//! shifts every field after it: the payload would read back as other values, or not at all,
//! with nothing to tell. Such a value is refused when it is encoded, naming the field, rather
//! than stored to be misread.

use std::cell::Cell;

use serde::ser::{self, Serialize, Serializer};

/// Where a refusal leaves the name of the field that was skipped: the error a serializer
/// returns carries no typed data of its own (postcard's custom errors drop the message).
pub(crate) type SkippedField = Cell<Option<&'static str>>;

/// Serializes as `S` does, and fails on a field skipped anywhere inside the value.
pub(crate) struct Positional<'a, S> {
    inner: S,
    skipped: &'a SkippedField,
}

impl<'a, S> Positional<'a, S> {
    pub(crate) fn new(inner: S, skipped: &'a SkippedField) -> Self {
        Self { inner, skipped }
    }
}

/// A value to serialize through [`Positional`] in turn.
struct Guarded<'a, T: ?Sized> {
    value: &'a T,
    skipped: &'a SkippedField,
}

impl<T: Serialize + ?Sized> Serialize for Guarded<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value
            .serialize(Positional::new(serializer, self.skipped))
    }
}

/// A compound value's serializer, whose elements go through [`Positional`].
pub(crate) struct Compound<'a, C> {
    inner: C,
    skipped: &'a SkippedField,
}

impl<'a, C> Compound<'a, C> {
    fn guard<'v, T: ?Sized>(&self, value: &'v T) -> Guarded<'v, T>
    where
        'a: 'v,
    {
        Guarded {
            value,
            skipped: self.skipped,
        }
    }

    fn refuse<E: ser::Error>(&self, key: &'static str) -> E {
        self.skipped.set(Some(key));
        E::custom(format_args!(
            "field `{key}` is skipped, which a positional format cannot read back"
        ))
    }
}

macro_rules! forward_scalars {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method(self, $($arg: $ty),*) -> Result<S::Ok, S::Error> {
                self.inner.$method($($arg),*)
            }
        )*
    };
}

impl<'a, S: Serializer> Serializer for Positional<'a, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Compound<'a, S::SerializeSeq>;
    type SerializeTuple = Compound<'a, S::SerializeTuple>;
    type SerializeTupleStruct = Compound<'a, S::SerializeTupleStruct>;
    type SerializeTupleVariant = Compound<'a, S::SerializeTupleVariant>;
    type SerializeMap = Compound<'a, S::SerializeMap>;
    type SerializeStruct = Compound<'a, S::SerializeStruct>;
    type SerializeStructVariant = Compound<'a, S::SerializeStructVariant>;

    forward_scalars! {
        serialize_bool(v: bool);
        serialize_i8(v: i8);
        serialize_i16(v: i16);
        serialize_i32(v: i32);
        serialize_i64(v: i64);
        serialize_i128(v: i128);
        serialize_u8(v: u8);
        serialize_u16(v: u16);
        serialize_u32(v: u32);
        serialize_u64(v: u64);
        serialize_u128(v: u128);
        serialize_f32(v: f32);
        serialize_f64(v: f64);
        serialize_char(v: char);
        serialize_str(v: &str);
        serialize_bytes(v: &[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(name: &'static str);
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str);
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        let skipped = self.skipped;
        self.inner.serialize_some(&Guarded { value, skipped })
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        let skipped = self.skipped;
        self.inner
            .serialize_newtype_struct(name, &Guarded { value, skipped })
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        let skipped = self.skipped;
        self.inner
            .serialize_newtype_variant(name, index, variant, &Guarded { value, skipped })
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        let skipped = self.skipped;
        self.inner
            .serialize_seq(len)
            .map(|inner| Compound { inner, skipped })
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        let skipped = self.skipped;
        self.inner
            .serialize_tuple(len)
            .map(|inner| Compound { inner, skipped })
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        let skipped = self.skipped;
        self.inner
            .serialize_tuple_struct(name, len)
            .map(|inner| Compound { inner, skipped })
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        let skipped = self.skipped;
        self.inner
            .serialize_tuple_variant(name, index, variant, len)
            .map(|inner| Compound { inner, skipped })
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        let skipped = self.skipped;
        self.inner
            .serialize_map(len)
            .map(|inner| Compound { inner, skipped })
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        let skipped = self.skipped;
        self.inner
            .serialize_struct(name, len)
            .map(|inner| Compound { inner, skipped })
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        let skipped = self.skipped;
        self.inner
            .serialize_struct_variant(name, index, variant, len)
            .map(|inner| Compound { inner, skipped })
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// The compounds whose parts are written by one method: each part guarded, then handed on.
macro_rules! guard_parts {
    ($($compound:ident :: $part:ident),* $(,)?) => {$(
        impl<C: ser::$compound> ser::$compound for Compound<'_, C> {
            type Ok = C::Ok;
            type Error = C::Error;
            fn $part<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
                let value = self.guard(value);
                self.inner.$part(&value)
            }
            fn end(self) -> Result<C::Ok, C::Error> {
                self.inner.end()
            }
        }
    )*};
}

guard_parts!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field,
);

impl<C: ser::SerializeMap> ser::SerializeMap for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), C::Error> {
        let key = self.guard(key);
        self.inner.serialize_key(&key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        let value = self.guard(value);
        self.inner.serialize_value(&value)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: ser::SerializeStruct> ser::SerializeStruct for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), C::Error> {
        let value = self.guard(value);
        self.inner.serialize_field(key, &value)
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
        Err(self.refuse(key))
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: ser::SerializeStructVariant> ser::SerializeStructVariant for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), C::Error> {
        let value = self.guard(value);
        self.inner.serialize_field(key, &value)
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
        Err(self.refuse(key))
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use crate::payload::{Payload, PayloadError, PayloadFormat};

    #[derive(Serialize)]
    struct Inner {
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        kept: u8,
    }

    #[derive(Serialize)]
    struct Outer {
        inner: Vec<Inner>,
    }

    #[test]
    fn a_field_skipped_deep_inside_is_refused_by_name_and_json_is_unaffected() {
        let value = Outer {
            inner: vec![Inner {
                note: None,
                kept: 1,
            }],
        };
        let refused = Payload::encode_as(&value, PayloadFormat::Postcard).expect_err("skipped");
        assert!(
            matches!(refused, PayloadError::SkippedField { field: "note", .. }),
            "{refused:?}"
        );
        let json = Payload::encode(&value).expect("JSON names its fields");
        assert_eq!(json.as_bytes(), br#"{"inner":[{"kept":1}]}"#);
        let written = Outer {
            inner: vec![Inner {
                note: Some("x".into()),
                kept: 1,
            }],
        };
        assert!(Payload::encode_as(&written, PayloadFormat::Postcard).is_ok());
    }
}
