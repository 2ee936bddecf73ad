//! Checks a `#[derive(Command)]` model: it names its aggregate, and the struct or every
//! variant has exactly one `#[aggregate_id]` field.

use syn::{Ident, Type};

use super::ast::{Input, Shape, Target};
use crate::ctxt::Errors;
use crate::stored_name::snake_case;

pub(crate) fn check(input: &Input, errors: &Errors) {
    if input.aggregate.is_none() {
        errors.spanned(
            input.ident,
            format!(
                "`{}` does not say which aggregate it addresses: add \
                 `#[command(aggregate = {})]` above it, naming the aggregate type",
                input.ident,
                aggregate_guess(input.ident).unwrap_or_else(|| "<YourAggregate>".to_owned())
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

/// The aggregate a command type's name suggests: `PlayerCommand` → `Player`.
fn aggregate_guess(ident: &Ident) -> Option<String> {
    let name = ident.to_string();
    let name = name.strip_prefix("r#").unwrap_or(&name);
    ["Commands", "Command"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .filter(|stripped| !stripped.is_empty())
        .map(str::to_owned)
}

/// The name of a field holding the id of the aggregate the command addresses, for messages:
/// `clan_id` for `#[command(aggregate = Clan)]`.
fn id_field_example(input: &Input) -> String {
    let aggregate = match &input.aggregate {
        Some(Type::Path(path)) => path.path.segments.last().map(|segment| &segment.ident),
        _ => None,
    };
    match aggregate {
        Some(aggregate) => format!("{}_id", snake_case(&aggregate.to_string())),
        None => "player_id".to_owned(),
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
                 of the aggregate it addresses, e.g. `#[aggregate_id] {}`",
                id_field_example(input)
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

#[cfg(test)]
mod tests {
    use proc_macro2::Span;

    use super::*;

    #[test]
    fn the_aggregate_is_guessed_from_the_command_type_name() {
        let guess = |name: &str| aggregate_guess(&Ident::new(name, Span::call_site()));
        assert_eq!(guess("ClanCommand").as_deref(), Some("Clan"));
        assert_eq!(guess("PlayerCommands").as_deref(), Some("Player"));
        assert_eq!(guess("Command"), None);
        assert_eq!(guess("GainXp"), None);
    }
}
