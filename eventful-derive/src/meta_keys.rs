//! What the attribute parsers share: skipping the value of a key they reject (so that the
//! keys after it are still checked) and the messages for unknown or repeated keys.

use syn::meta::ParseNestedMeta;
use syn::{Token, token};

use crate::ctxt::Errors;

/// Consumes `= value` or `(...)` after a key that was rejected.
pub(crate) fn skip_value(meta: &ParseNestedMeta) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(token::Paren) {
        meta.parse_nested_meta(|nested| skip_value(&nested))?;
    }
    Ok(())
}

/// The name of the key `meta` holds, as written.
pub(crate) fn key(meta: &ParseNestedMeta) -> String {
    let path = &meta.path;
    quote::quote!(#path).to_string().replace(' ', "")
}

/// Records that `meta`'s key is not one of `expected` in `#[attribute(...)]`, and skips its
/// value.
pub(crate) fn unknown(
    errors: &Errors,
    meta: &ParseNestedMeta,
    attribute: &str,
    expected: &[&str],
) -> syn::Result<()> {
    let expected = expected
        .iter()
        .map(|key| format!("`{key}`"))
        .collect::<Vec<_>>()
        .join(", ");
    errors.spanned(
        &meta.path,
        format!(
            "unknown key `{}` in #[{attribute}(...)]; expected one of {expected}",
            key(meta)
        ),
    );
    skip_value(meta)
}

/// Stores `value` in `slot`, or records that the key was given twice.
pub(crate) fn set_once<T>(
    errors: &Errors,
    meta: &ParseNestedMeta,
    slot: &mut Option<T>,
    value: Option<T>,
) {
    if slot.is_some() {
        errors.spanned(&meta.path, format!("`{}` is given twice", key(meta)));
    } else if value.is_some() {
        *slot = value;
    }
}
