//! Names and versions that end up in the store: the stored name of an event type or an
//! aggregate type (`xp_gained`, `player`) and a schema version, checked when the macro runs
//! so that a bad one is a compile error on the attribute rather than a panic at start-up.

use proc_macro2::Span;
use syn::{Ident, LitInt, LitStr};

/// The longest stored type name, in bytes (eventful-core's `MAX_TYPE_NAME_LEN`).
const MAX_LEN: usize = 128;

/// A stored type name and the tokens it comes from, for errors.
#[derive(Clone)]
pub(crate) struct StoredName {
    pub(crate) value: String,
    pub(crate) span: Span,
    /// Written by the user (`rename = "..."`, `name = "..."`) rather than derived.
    pub(crate) explicit: bool,
}

impl StoredName {
    pub(crate) fn from_lit(lit: &LitStr) -> Self {
        Self {
            value: lit.value(),
            span: lit.span(),
            explicit: true,
        }
    }

    /// The snake_case form of `ident` (`XpGained` → `xp_gained`), less `suffix` when it ends
    /// with it and is longer (`PlayerCreatedEvent` → `player_created`).
    pub(crate) fn derived(ident: &Ident, suffix: Option<&str>) -> Self {
        let text = ident.to_string();
        let text = text.strip_prefix("r#").unwrap_or(&text);
        let text = suffix
            .and_then(|suffix| text.strip_suffix(suffix))
            .filter(|stripped| !stripped.is_empty())
            .unwrap_or(text);
        Self {
            value: snake_case(text),
            span: ident.span(),
            explicit: false,
        }
    }

    /// Why this name cannot be stored, if it cannot.
    pub(crate) fn problem(&self) -> Option<String> {
        let value = &self.value;
        if value.is_empty() {
            Some("a stored type name cannot be empty".to_owned())
        } else if value.len() > MAX_LEN {
            Some(format!(
                "the stored type name `{value}` is {} bytes long; the limit is {MAX_LEN}",
                value.len()
            ))
        } else if value.chars().any(char::is_control) {
            Some(format!(
                "the stored type name {value:?} has a control character; use letters, digits, \
                 `_` or `.`"
            ))
        } else {
            None
        }
    }
}

/// `XpGained` → `xp_gained`, `HTTPRequest` → `http_request`, `Level2Reached` → `level2_reached`.
pub(crate) fn snake_case(camel: &str) -> String {
    let chars: Vec<char> = camel.chars().collect();
    let mut snake = String::with_capacity(camel.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let previous = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|next| next.is_lowercase());
            let starts_word = previous.is_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_uppercase() && next_is_lower);
            if starts_word {
                snake.push('_');
            }
        }
        snake.extend(c.to_lowercase());
    }
    snake
}

/// A schema or snapshot revision: a `u32` of at least 1.
pub(crate) fn parse_revision(lit: &LitInt, what: &str) -> syn::Result<u32> {
    match lit.base10_parse::<u32>() {
        Ok(0) => Err(syn::Error::new(
            lit.span(),
            format!("{what} starts at 1: write `{what} = 1` for the first shape, then bump it"),
        )),
        Ok(revision) => Ok(revision),
        Err(_) => Err(syn::Error::new(
            lit.span(),
            format!("{what} must be a whole number from 1 to {}", u32::MAX),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_splits_words() {
        assert_eq!(snake_case("XpGained"), "xp_gained");
        assert_eq!(snake_case("Created"), "created");
        assert_eq!(snake_case("HTTPRequestSent"), "http_request_sent");
        assert_eq!(snake_case("Level2Reached"), "level2_reached");
        assert_eq!(snake_case("already_snake"), "already_snake");
    }

    #[test]
    fn derived_names_drop_the_suffix() {
        let ident = |name: &str| Ident::new(name, Span::call_site());
        let name = |name: &str| StoredName::derived(&ident(name), Some("Event")).value;
        assert_eq!(name("PlayerCreatedEvent"), "player_created");
        assert_eq!(name("Event"), "event");
        assert_eq!(name("XpGained"), "xp_gained");
    }
}
