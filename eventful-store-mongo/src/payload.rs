//! JSON payloads as real BSON values, and back.
//!
//! A [`Payload`](eventful_core::Payload) is JSON text; MongoDB keeps it as the BSON value it
//! denotes, so an operator can query `events.payload.amount` in the shell. The mapping:
//!
//! | JSON | BSON | back to JSON |
//! | --- | --- | --- |
//! | object | document, keys in their order (a repeated key keeps its last value) | object |
//! | array | array | array |
//! | string | string | string |
//! | `true` / `false` | boolean | boolean |
//! | `null` | null | `null` |
//! | integer in `i32` | int32 | integer |
//! | other integer up to `i64::MAX` | int64 | integer |
//! | integer above `i64::MAX` | refused: [`BsonProblem::IntegerAboveI64`] (BSON has no larger integer, and a double would lose digits) | |
//! | number with a fraction or exponent | double | number (`1e2` reads back as `100.0`) |
//!
//! Integers are stored in the smallest of int32 and int64 that holds them, which is also what
//! wire-compatible test servers return, so documents look the same on both. A key containing
//! a NUL character cannot be a BSON key and is refused ([`BsonProblem::NulInKey`]). Reading
//! back, a value of any other BSON type (a date, an ObjectId, written by hand in the shell)
//! has no JSON form and is an error ([`DecodeProblem::NoJsonForm`]), as are non-finite
//! doubles: the store never guesses.

use std::cell::RefCell;
use std::fmt;

use mongodb::bson::raw::{RawArray, RawBsonRef, RawDocument};
use mongodb::bson::{RawArrayBuf, RawBson, RawDocumentBuf};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::problem::{BsonProblem, DecodeProblem};

/// The BSON value of a JSON text.
pub(crate) fn json_to_bson(json: &[u8]) -> Result<RawBson, BsonProblem> {
    // serde's errors carry only text: the visitor leaves the typed problem here.
    let problem = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let value = BsonSeed {
        path: Path::root(),
        problem: &problem,
    }
    .deserialize(&mut deserializer)
    .and_then(|value| deserializer.end().map(|()| value));
    value.map_err(|error| {
        problem.take().unwrap_or(BsonProblem::NotJson {
            message: error.to_string(),
        })
    })
}

/// The JSON text of a BSON value written by [`json_to_bson`].
pub(crate) fn bson_to_json(value: RawBsonRef<'_>) -> Result<Vec<u8>, DecodeProblem> {
    let mut out = Vec::with_capacity(64);
    write_value(&mut out, value, &mut Path::root())?;
    Ok(out)
}

/// Where in a payload a value sits, as a JSON pointer, for error messages.
#[derive(Debug, Clone, Default)]
struct Path(Vec<String>);

impl Path {
    fn root() -> Self {
        Self::default()
    }

    fn child(&self, segment: impl Into<String>) -> Self {
        let mut path = self.clone();
        path.0.push(segment.into());
        path
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("/");
        }
        for segment in &self.0 {
            write!(f, "/{}", segment.replace('~', "~0").replace('/', "~1"))?;
        }
        Ok(())
    }
}

struct BsonSeed<'p> {
    path: Path,
    /// Where a refusal leaves its typed problem.
    problem: &'p RefCell<Option<BsonProblem>>,
}

impl<'de> DeserializeSeed<'de> for BsonSeed<'_> {
    type Value = RawBson;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawBson, D::Error> {
        deserializer.deserialize_any(BsonVisitor {
            path: self.path,
            problem: self.problem,
        })
    }
}

struct BsonVisitor<'p> {
    path: Path,
    problem: &'p RefCell<Option<BsonProblem>>,
}

impl BsonVisitor<'_> {
    /// Refuses the payload for `problem`.
    fn refuse<E: de::Error>(&self, problem: BsonProblem) -> E {
        let error = E::custom(&problem);
        *self.problem.borrow_mut() = Some(problem);
        error
    }

    fn child(&self, segment: String) -> BsonSeed<'_> {
        BsonSeed {
            path: self.path.child(segment),
            problem: self.problem,
        }
    }
}

impl<'de> Visitor<'de> for BsonVisitor<'_> {
    type Value = RawBson;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<RawBson, E> {
        Ok(RawBson::Boolean(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<RawBson, E> {
        Ok(match i32::try_from(value) {
            Ok(small) => RawBson::Int32(small),
            Err(_) => RawBson::Int64(value),
        })
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<RawBson, E> {
        match i64::try_from(value) {
            Ok(signed) => self.visit_i64(signed),
            Err(_) => Err(self.refuse(BsonProblem::IntegerAboveI64 {
                path: self.path.to_string(),
                value,
            })),
        }
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<RawBson, E> {
        Ok(RawBson::Double(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<RawBson, E> {
        Ok(RawBson::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<RawBson, E> {
        Ok(RawBson::String(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<RawBson, E> {
        Ok(RawBson::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<RawBson, E> {
        Ok(RawBson::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawBson, A::Error> {
        let mut array = RawArrayBuf::new();
        let mut index = 0usize;
        while let Some(value) = seq.next_element_seed(self.child(index.to_string()))? {
            array.push(value);
            index += 1;
        }
        Ok(RawBson::Array(array))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawBson, A::Error> {
        let mut entries: Vec<(String, RawBson)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key.contains('\0') {
                return Err(self.refuse(BsonProblem::NulInKey {
                    path: self.path.to_string(),
                    key,
                }));
            }
            let value = map.next_value_seed(self.child(key.clone()))?;
            match entries.iter_mut().find(|(existing, _)| *existing == key) {
                Some(entry) => entry.1 = value,
                None => entries.push((key, value)),
            }
        }
        let mut document = RawDocumentBuf::new();
        for (key, value) in entries {
            document.append(key, value);
        }
        Ok(RawBson::Document(document))
    }
}

fn write_value(
    out: &mut Vec<u8>,
    value: RawBsonRef<'_>,
    path: &mut Path,
) -> Result<(), DecodeProblem> {
    match value {
        RawBsonRef::Document(document) => write_document(out, document, path),
        RawBsonRef::Array(array) => write_array(out, array, path),
        RawBsonRef::String(text) => write_json(out, &text, path),
        RawBsonRef::Boolean(flag) => write_json(out, &flag, path),
        RawBsonRef::Null => {
            out.extend_from_slice(b"null");
            Ok(())
        }
        RawBsonRef::Int32(number) => write_json(out, &number, path),
        RawBsonRef::Int64(number) => write_json(out, &number, path),
        RawBsonRef::Double(number) if number.is_finite() => write_json(out, &number, path),
        RawBsonRef::Double(value) => Err(DecodeProblem::NonFiniteDouble {
            path: path.to_string(),
            value,
        }),
        other => Err(DecodeProblem::NoJsonForm {
            path: path.to_string(),
            found: other.element_type(),
        }),
    }
}

fn malformed(path: &Path, error: impl fmt::Display) -> DecodeProblem {
    DecodeProblem::Malformed {
        at: path.to_string(),
        message: error.to_string(),
    }
}

fn write_document(
    out: &mut Vec<u8>,
    document: &RawDocument,
    path: &mut Path,
) -> Result<(), DecodeProblem> {
    out.push(b'{');
    for (i, entry) in document.iter().enumerate() {
        let (key, value) = entry.map_err(|error| malformed(path, error))?;
        if i > 0 {
            out.push(b',');
        }
        write_json(out, key, path)?;
        out.push(b':');
        path.0.push(key.to_owned());
        write_value(out, value, path)?;
        path.0.pop();
    }
    out.push(b'}');
    Ok(())
}

fn write_array(out: &mut Vec<u8>, array: &RawArray, path: &mut Path) -> Result<(), DecodeProblem> {
    out.push(b'[');
    for (i, element) in array.into_iter().enumerate() {
        let value = element.map_err(|error| malformed(path, error))?;
        if i > 0 {
            out.push(b',');
        }
        path.0.push(i.to_string());
        write_value(out, value, path)?;
        path.0.pop();
    }
    out.push(b']');
    Ok(())
}

fn write_json<T: serde::Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
    path: &Path,
) -> Result<(), DecodeProblem> {
    // Writing a string or a finite number into a `Vec` cannot fail; kept typed all the same.
    serde_json::to_writer(out, value).map_err(|error| malformed(path, error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn round_trip(json: &str) -> String {
        let bson = json_to_bson(json.as_bytes()).expect("maps to BSON");
        let back = bson_to_json(bson.as_raw_bson_ref()).expect("maps back");
        String::from_utf8(back).expect("UTF-8")
    }

    #[test]
    fn every_json_type_round_trips() {
        let text = r#"{"name":"Zoë 🎮","score":9007199254740991,"small":-5,"big":-9223372036854775808,"ratio":0.25,"tags":["a","b",[],{}],"nested":{"ok":true,"none":null},"":1}"#;
        let back = round_trip(text);
        assert_eq!(back, text, "key order, types and text survive");
        let parsed: Value = serde_json::from_str(&back).expect("valid JSON");
        assert_eq!(
            parsed,
            serde_json::from_str::<Value>(text).expect("valid JSON")
        );
    }

    #[test]
    fn scalars_and_arrays_are_payloads_too() {
        assert_eq!(round_trip("42"), "42");
        assert_eq!(round_trip("\"text\""), "\"text\"");
        assert_eq!(round_trip("[1,2.5,null]"), "[1,2.5,null]");
        assert_eq!(round_trip("1e2"), "100.0");
        assert_eq!(round_trip("-0.0"), "-0.0");
    }

    #[test]
    fn integers_take_the_smallest_bson_type_that_holds_them() {
        let bson =
            json_to_bson(br#"{"a":2147483647,"b":2147483648,"c":-2147483649}"#).expect("maps");
        let document = bson.as_document().expect("a document");
        assert_eq!(
            document.get("a").expect("ok"),
            Some(RawBsonRef::Int32(i32::MAX))
        );
        assert_eq!(
            document.get("b").expect("ok"),
            Some(RawBsonRef::Int64(2_147_483_648))
        );
        assert_eq!(
            document.get("c").expect("ok"),
            Some(RawBsonRef::Int64(-2_147_483_649))
        );
    }

    #[test]
    fn extended_json_keys_are_kept_as_plain_keys() {
        let text = r#"{"$oid":"5f0000000000000000000000","$date":{"$numberLong":"5"},"a.b":1}"#;
        let bson = json_to_bson(text.as_bytes()).expect("maps");
        let document = bson
            .as_document()
            .expect("a plain document, not an ObjectId");
        assert!(matches!(
            document.get("$oid"),
            Ok(Some(RawBsonRef::String(_)))
        ));
        assert_eq!(round_trip(text), text);
    }

    #[test]
    fn integers_above_i64_are_refused_with_their_path() {
        let error = json_to_bson(br#"{"items":[{"n":18446744073709551615}]}"#)
            .expect_err("no BSON integer holds it");
        assert_eq!(
            error,
            BsonProblem::IntegerAboveI64 {
                path: "/items/0/n".to_owned(),
                value: u64::MAX
            }
        );
        assert!(error.to_string().contains("/items/0/n"), "{error}");
        assert!(
            json_to_bson(b"9223372036854775807").is_ok(),
            "i64::MAX fits"
        );
    }

    #[test]
    fn nul_in_keys_is_refused_and_nul_in_strings_is_kept() {
        assert_eq!(
            json_to_bson(br#"{"x":{"a\u0000b":1}}"#),
            Err(BsonProblem::NulInKey {
                path: "/x".to_owned(),
                key: "a\0b".to_owned()
            })
        );
        assert!(matches!(
            json_to_bson(b"{oops"),
            Err(BsonProblem::NotJson { .. })
        ));
        assert_eq!(round_trip(r#"{"a":"x\u0000y"}"#), r#"{"a":"x\u0000y"}"#);
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value_in_first_place() {
        assert_eq!(round_trip(r#"{"a":1,"b":2,"a":3}"#), r#"{"a":3,"b":2}"#);
    }

    #[test]
    fn bson_without_a_json_form_is_an_error() {
        let mut document = RawDocumentBuf::new();
        document.append("when", mongodb::bson::DateTime::from_millis(0));
        let error = bson_to_json(RawBsonRef::Document(&document)).expect_err("dates are not JSON");
        assert_eq!(
            error,
            DecodeProblem::NoJsonForm {
                path: "/when".to_owned(),
                found: mongodb::bson::spec::ElementType::DateTime
            }
        );
        let mut nan = RawDocumentBuf::new();
        nan.append("x", f64::NAN);
        assert!(matches!(
            bson_to_json(RawBsonRef::Document(&nan)),
            Err(DecodeProblem::NonFiniteDouble { .. })
        ));
    }
}
