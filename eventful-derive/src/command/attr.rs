//! `#[command(aggregate = Player, crate = "...")]` on the type and `#[aggregate_id]` on a
//! field, as plain data.

use syn::{Attribute, Path, Type};

use crate::crate_path::CratePath;
use crate::ctxt::Errors;
use crate::meta_keys;

/// What the type's `#[command(...)]` attributes say.
#[derive(Default)]
pub(crate) struct CommandAttrs {
    pub(crate) aggregate: Option<Type>,
    pub(crate) crate_path: Option<Path>,
}

pub(crate) fn parse(attrs: &[Attribute], errors: &Errors) -> CommandAttrs {
    let mut parsed = CommandAttrs::default();
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("command")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("aggregate") {
                let aggregate = errors.ok(meta.value().and_then(|value| value.parse()));
                meta_keys::set_once(errors, &meta, &mut parsed.aggregate, aggregate);
            } else if meta.path.is_ident("crate") {
                let path = errors.ok(CratePath::parse_value(&meta));
                meta_keys::set_once(errors, &meta, &mut parsed.crate_path, path);
            } else {
                meta_keys::unknown(errors, &meta, "command", &["aggregate", "crate"])?;
            }
            Ok(())
        });
        errors.ok(result);
    }
    for attr in attrs.iter().filter(|attr| is_aggregate_id(attr)) {
        errors.spanned(
            attr,
            "#[aggregate_id] goes on the field that holds the aggregate's id, not on the type",
        );
    }
    parsed
}

pub(crate) fn is_aggregate_id(attr: &Attribute) -> bool {
    attr.path().is_ident("aggregate_id")
}

/// The `#[aggregate_id]` attributes of a field, each checked to take no arguments.
pub(crate) fn aggregate_id_marks<'a>(
    attrs: &'a [Attribute],
    errors: &Errors,
) -> Vec<&'a Attribute> {
    let marks: Vec<_> = attrs.iter().filter(|attr| is_aggregate_id(attr)).collect();
    for mark in &marks {
        if let Err(error) = mark.meta.require_path_only() {
            errors.push(syn::Error::new(
                error.span(),
                "#[aggregate_id] takes no arguments: the field's type is the id type",
            ));
        }
    }
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("command")) {
        errors.spanned(attr, "#[command(...)] goes on the type, not on a field");
    }
    marks
}
