//! Checks a `#[derive(Command)]` model: it names its aggregate, and the struct or every
//! variant has exactly one `#[aggregate_id]` field.

use super::ast::{Input, Shape, Target};
use crate::ctxt::Errors;

pub(crate) fn check(input: &Input, errors: &Errors) {
    if input.aggregate.is_none() {
        errors.spanned(
            input.ident,
            format!(
                "`{}` does not say which aggregate it addresses: add \
                 `#[command(aggregate = Player)]` above it, naming the aggregate type",
                input.ident
            ),
        );
    }
    match &input.shape {
        Shape::Struct(target) => check_target(input, target, errors),
        Shape::Enum(variants) if variants.is_empty() => errors.spanned(
            input.ident,
            format!(
                "`{}` has no variants: a command enum needs one variant per request",
                input.ident
            ),
        ),
        Shape::Enum(variants) => {
            for variant in variants {
                check_target(input, variant, errors);
            }
        }
        Shape::Union(span) => errors.at(
            *span,
            "#[derive(Command)] works on a struct or an enum, not on a union",
        ),
    }
}

fn check_target(input: &Input, target: &Target, errors: &Errors) {
    let (what, span_of) = match target.variant {
        Some(variant) => (
            format!("variant `{}::{variant}`", input.ident),
            variant.span(),
        ),
        None => (format!("`{}`", input.ident), input.ident.span()),
    };
    match target.ids.as_slice() {
        [_] => {}
        [] if target.fields.is_empty() => errors.at(
            span_of,
            format!(
                "{what} has no fields, so it cannot carry the id of the aggregate it addresses: \
                 add a field marked #[aggregate_id]"
            ),
        ),
        [] => errors.at(
            span_of,
            format!(
                "{what} has no field marked #[aggregate_id]: mark the field that holds the id \
                 of the aggregate it addresses, e.g. `#[aggregate_id] player_id: PlayerId`"
            ),
        ),
        [_, extra @ ..] => {
            for id in extra {
                errors.spanned(
                    id.mark,
                    format!(
                        "{what} has more than one field marked #[aggregate_id]; keep the mark on \
                         the one field that holds the aggregate's id"
                    ),
                );
            }
        }
    }
}
