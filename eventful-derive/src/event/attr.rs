//! `#[event(...)]` as plain data: `crate` and `version` on the enum; `rename` and `version` on
//! a variant; all three on a struct that is one event on its own.

use syn::{Attribute, LitInt, LitStr, Path};

use crate::crate_path::CratePath;
use crate::ctxt::Errors;
use crate::meta_keys;
use crate::stored_name::{StoredName, parse_revision};

/// Where an `#[event(...)]` attribute sits, which decides the keys it takes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    Enum,
    Variant,
    Struct,
}

impl Place {
    fn keys(self) -> &'static [&'static str] {
        match self {
            Place::Enum => &["crate", "version"],
            Place::Variant => &["rename", "version"],
            Place::Struct => &["crate", "rename", "version"],
        }
    }
}

/// What one item's `#[event(...)]` attributes say.
#[derive(Default)]
pub(crate) struct EventAttrs {
    pub(crate) crate_path: Option<Path>,
    pub(crate) rename: Option<StoredName>,
    pub(crate) version: Option<u32>,
}

pub(crate) fn parse(attrs: &[Attribute], place: Place, errors: &Errors) -> EventAttrs {
    let mut parsed = EventAttrs::default();
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("event")) {
        let result = attr.parse_nested_meta(|meta| {
            let allowed = place.keys();
            if meta.path.is_ident("crate") && allowed.contains(&"crate") {
                let path = errors.ok(CratePath::parse_value(&meta));
                meta_keys::set_once(errors, &meta, &mut parsed.crate_path, path);
            } else if meta.path.is_ident("rename") && allowed.contains(&"rename") {
                let name = errors.ok(meta.value().and_then(|value| value.parse::<LitStr>()));
                let name = name.as_ref().map(StoredName::from_lit);
                meta_keys::set_once(errors, &meta, &mut parsed.rename, name);
            } else if meta.path.is_ident("version") {
                let version = errors.ok(meta
                    .value()
                    .and_then(|value| value.parse::<LitInt>())
                    .and_then(|lit| parse_revision(&lit, "version")));
                meta_keys::set_once(errors, &meta, &mut parsed.version, version);
            } else if meta.path.is_ident("rename") && place == Place::Enum {
                errors.spanned(
                    &meta.path,
                    "`rename` goes on a variant, not on the enum: each variant is stored under \
                     its own name, e.g. `#[event(rename = \"player_joined\")] Joined { .. }`",
                );
                meta_keys::skip_value(&meta)?;
            } else if meta.path.is_ident("crate") && place == Place::Variant {
                errors.spanned(&meta.path, "`crate` goes on the enum, not on a variant");
                meta_keys::skip_value(&meta)?;
            } else {
                meta_keys::unknown(errors, &meta, "event", allowed)?;
            }
            Ok(())
        });
        errors.ok(result);
    }
    parsed
}

/// Records an error for each `#[event]` on a field, where it means nothing.
pub(crate) fn reject_on_fields(fields: &syn::Fields, errors: &Errors) {
    for attr in fields.iter().flat_map(|field| &field.attrs) {
        if attr.path().is_ident("event") {
            errors.spanned(
                attr,
                "#[event(...)] goes on the enum, a variant or the struct, not on a field",
            );
        }
    }
}
