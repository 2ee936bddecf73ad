//! What a handler method's signature must be for generated code to call it, whichever macro
//! marks it (`#[handle]`, `#[apply]`, `#[on]`, `#[reset]`): checks and the messages they
//! give, shared so that the macros of one family say the same thing the same way.

use syn::{PatType, ReceiverKind, Safety, Signature, Type};

use crate::ctxt::Errors;

/// The receiver a handler takes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Receiver {
    /// `&self`
    Shared,
    /// `&mut self`
    Mut,
}

impl Receiver {
    fn text(self) -> &'static str {
        match self {
            Receiver::Shared => "&self",
            Receiver::Mut => "&mut self",
        }
    }
}

/// Records an error for each qualifier that generated code cannot call through: `unsafe`,
/// an ABI, generic parameters, a variadic. `kind` names the method ("an event applier").
pub(crate) fn check_qualifiers(sig: &Signature, kind: &str, errors: &Errors) {
    if let Safety::Unsafe(unsafety) = &sig.safety {
        errors.spanned(unsafety, format!("{kind} cannot be unsafe"));
    }
    if let Some(abi) = &sig.abi {
        errors.spanned(abi, format!("{kind} cannot have an `extern` ABI"));
    }
    if sig.generics.lt_token.is_some() || sig.generics.where_clause.is_some() {
        errors.spanned(
            &sig.generics,
            format!(
                "{kind} cannot have generic parameters: it is called with the fields of one \
                 variant, whose types are known"
            ),
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanned(variadic, format!("{kind} cannot be variadic"));
    }
}

/// Records an error unless `sig` takes `wanted` first; `why` says why it must.
pub(crate) fn check_receiver(
    sig: &Signature,
    wanted: Receiver,
    kind: &str,
    why: &str,
    errors: &Errors,
) {
    let found = sig.receiver().map(|receiver| match &receiver.kind {
        ReceiverKind::Reference(_, _, Some(_)) => Some(Receiver::Mut),
        ReceiverKind::Reference(_, _, None) => Some(Receiver::Shared),
        _ => None,
    });
    let wanted_text = wanted.text();
    match found {
        Some(Some(found)) if found == wanted => {}
        Some(_) => errors.spanned(
            sig.inputs.first(),
            format!("{kind} takes `{wanted_text}`: {why}"),
        ),
        None => errors.spanned(
            &sig.ident,
            format!("{kind} is a method taking `{wanted_text}` first: {why}"),
        ),
    }
}

/// Records an error unless `param` is a plain name (`amount: &u64`); `binds` says what the
/// parameter stands for ("binds the variant's field of the same name").
pub(crate) fn check_plain_name(param: &PatType, binds: &str, errors: &Errors) {
    match &*param.pat {
        syn::Pat::Ident(pat)
            if pat.by_ref.is_none() && pat.mutability.is_none() && pat.subpat.is_none() => {}
        syn::Pat::Ident(pat) => errors.spanned(
            pat,
            format!(
                "write the parameter as a plain name, such as `{}: &T`: each parameter {binds}",
                pat.ident
            ),
        ),
        other => errors.spanned(
            other,
            format!(
                "write the parameter as a plain name, such as `amount: &u64`: each parameter \
                 {binds}"
            ),
        ),
    }
}

/// Records an error unless `ty` is a shared reference; `what` is what the parameter borrows
/// ("the fields of the event it takes").
pub(crate) fn check_shared_reference(ty: &Type, what: &str, errors: &Errors) {
    match ty {
        Type::Reference(reference) if reference.mutability.is_none() => {}
        other => errors.spanned(
            other,
            format!(
                "a handler borrows {what}: write this parameter's type as a shared reference, \
                 `&{}`",
                strip_reference(other)
            ),
        ),
    }
}

/// `ty` less any reference, as a user would write it.
pub(crate) fn strip_reference(ty: &Type) -> String {
    match ty {
        Type::Reference(reference) => type_text(Some(&reference.elem), "T"),
        other => type_text(Some(other), "T"),
    }
}

/// `ty` as a user would write it, for messages; `otherwise` when there is none.
pub(crate) fn type_text(ty: Option<&Type>, otherwise: &str) -> String {
    ty.map_or_else(
        || otherwise.to_owned(),
        |ty| {
            quote::quote!(#ty)
                .to_string()
                .replace(" :: ", "::")
                .replace(":: ", "::")
                .replace(" < ", "<")
                .replace("< ", "<")
                .replace(" >", ">")
                .replace(" ,", ",")
                .replace("& ", "&")
        },
    )
}
