//! Checks a `#[derive(Event)]` model: a concrete enum or struct, stored names that a store
//! accepts, and no stored name used twice.

use std::collections::HashMap;

use syn::spanned::Spanned;

use super::ast::{Input, Shape};
use crate::ctxt::Errors;

pub(crate) fn check(input: &Input, errors: &Errors) {
    match &input.shape {
        Shape::Union(span) => errors.at(
            *span,
            "#[derive(Event)] works on an enum (one event type per variant) or a struct (one \
             event type), not on a union",
        ),
        Shape::Enum(types) if types.is_empty() => errors.spanned(
            input.ident,
            format!(
                "`{}` has no variants: an event enum needs one variant per event type",
                input.ident
            ),
        ),
        Shape::Enum(_) | Shape::Struct(_) => {}
    }
    if input.generics.lt_token.is_some() || input.generics.where_clause.is_some() {
        errors.push(syn::Error::new(
            input.generics.span(),
            format!(
                "#[derive(Event)] needs a concrete type: every event type is registered by name \
                 in a process-wide registry that reads stored events back, so `{}` cannot have \
                 generic parameters; define one event type per instantiation instead",
                input.ident
            ),
        ));
    }
    check_names(input, errors);
}

fn check_names(input: &Input, errors: &Errors) {
    let mut by_name: HashMap<&str, &super::ast::EventType> = HashMap::new();
    for event_type in input.event_types() {
        let name = &event_type.name;
        if let Some(problem) = name.problem() {
            let fix = if name.explicit {
                "fix the `rename = \"...\"`"
            } else {
                "choose a stored name with `#[event(rename = \"...\")]`"
            };
            errors.at(name.span, format!("{problem}; {fix}"));
            continue;
        }
        let Some(first) = by_name.insert(&name.value, event_type) else {
            continue;
        };
        for (this, other) in [(first, event_type), (event_type, first)] {
            errors.at(
                this.name.span,
                format!(
                    "`{}` and `{}` would both be stored as `{}`, so a stored event could not \
                     be read back; give one of them another name with \
                     `#[event(rename = \"...\")]`",
                    variant_name(this),
                    variant_name(other),
                    name.value
                ),
            );
        }
    }
}

fn variant_name(event_type: &super::ast::EventType) -> String {
    event_type
        .variant
        .map_or_else(String::new, ToString::to_string)
}
