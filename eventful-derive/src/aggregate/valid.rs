//! Checks an `#[aggregate]` model: the arguments it needs, one handler per variant, and
//! handler signatures the generated `impl Aggregate` can call.

use std::collections::HashMap;

use proc_macro2::Span;
use syn::{FnArg, Pat, ReceiverKind, ReturnType, Safety, Signature, Type};

use super::ast::{Aggregate, Handler};
use super::attr::Role;
use crate::ctxt::Errors;

pub(crate) fn check(aggregate: &Aggregate, errors: &Errors) {
    check_args(aggregate, errors);
    check_one_handler_per_variant(&aggregate.handlers, errors);
    for handler in &aggregate.handlers {
        check_signature(aggregate, handler, errors);
    }
}

fn check_args(aggregate: &Aggregate, errors: &Errors) {
    let args = &aggregate.args;
    let missing = [
        (
            args.name.is_none(),
            "name = \"player\"",
            "the aggregate type's stored name, which names its streams (`player-42`)",
        ),
        (args.id.is_none(), "id = PlayerId", "the type of its ids"),
        (
            args.command.is_none(),
            "command = PlayerCommand",
            "the command type its #[handle] methods take",
        ),
        (
            args.event.is_none(),
            "event = PlayerEvent",
            "the event type its #[apply] methods take",
        ),
        (
            args.error.is_none(),
            "error = PlayerError",
            "the error its #[handle] methods reject commands with",
        ),
    ];
    for (_, example, what) in missing.iter().filter(|(is_missing, ..)| *is_missing) {
        errors.at(
            Span::call_site(),
            format!("#[aggregate(...)] is missing `{example}`: {what}"),
        );
    }
    if let Some(name) = &args.name
        && let Some(problem) = name.problem()
    {
        errors.at(name.span, format!("{problem}; fix `name = \"...\"`"));
    }
}

fn check_one_handler_per_variant(handlers: &[Handler], errors: &Errors) {
    let mut seen: HashMap<(Role, String), &Handler> = HashMap::new();
    for handler in handlers {
        let key = (handler.role, handler.target.key());
        let Some(first) = seen.insert(key, handler) else {
            continue;
        };
        for (this, other) in [(first, handler), (handler, first)] {
            errors.at(
                this.target.span,
                format!(
                    "`{}` has two #[{}] methods, `{}` and `{}`: keep one of them",
                    this.target.key(),
                    this.role.attribute(),
                    this.sig.ident,
                    other.sig.ident
                ),
            );
        }
    }
}

fn check_signature(aggregate: &Aggregate, handler: &Handler, errors: &Errors) {
    let sig = &handler.sig;
    let kind = match handler.role {
        Role::Handle => "a command handler",
        Role::Apply => "an event applier",
    };
    if let Some(asyncness) = &sig.asyncness {
        errors.spanned(
            asyncness,
            format!(
                "{kind} cannot be async: an aggregate decides and evolves from its own state \
                 alone; do I/O in a policy or before sending the command"
            ),
        );
    }
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
    check_receiver(handler, kind, errors);
    check_params(handler, errors);
    check_output(aggregate, handler, kind, errors);
}

fn check_receiver(handler: &Handler, kind: &str, errors: &Errors) {
    let sig = &handler.sig;
    let (wanted, why) = match handler.role {
        Role::Handle => (
            "&self",
            "it decides from the state without changing it; the events it returns change it",
        ),
        Role::Apply => ("&mut self", "it changes the state by one event"),
    };
    let found = sig.receiver().map(|receiver| match &receiver.kind {
        ReceiverKind::Reference(_, _, mutability) => {
            if mutability.is_some() {
                "&mut self"
            } else {
                "&self"
            }
        }
        _ => "another receiver",
    });
    match found {
        Some(found) if found == wanted => {}
        Some(_) => errors.spanned(
            sig.inputs.first(),
            format!("{kind} takes `{wanted}`: {why}"),
        ),
        None => errors.spanned(
            &sig.ident,
            format!("{kind} is a method taking `{wanted}` first: {why}"),
        ),
    }
}

fn check_params(handler: &Handler, errors: &Errors) {
    let binds = if handler.target.positional {
        "binds the variant's fields in order"
    } else {
        "binds the variant's field of the same name"
    };
    for input in &handler.sig.inputs {
        let FnArg::Typed(param) = input else {
            continue;
        };
        match &*param.pat {
            Pat::Ident(pat) if pat.by_ref.is_none() && pat.mutability.is_none() && pat.subpat.is_none() => {}
            Pat::Ident(pat) => errors.spanned(
                pat,
                format!(
                    "write the parameter as a plain name, such as `{}: &T`: each parameter {binds}",
                    pat.ident
                ),
            ),
            other => errors.spanned(
                other,
                format!("write the parameter as a plain name, such as `amount: &u64`: each parameter {binds}"),
            ),
        }
        match &*param.ty {
            Type::Reference(reference) if reference.mutability.is_none() => {}
            other => errors.spanned(
                other,
                format!(
                    "a handler borrows the fields of the {} it takes: write this parameter's \
                     type as a shared reference, `&{}`",
                    match handler.role {
                        Role::Handle => "command",
                        Role::Apply => "event",
                    },
                    strip_reference(other)
                ),
            ),
        }
    }
}

fn strip_reference(ty: &Type) -> String {
    match ty {
        Type::Reference(reference) => type_text(Some(&reference.elem), "T"),
        other => type_text(Some(other), "T"),
    }
}

/// `ty` as a user would write it, for messages.
fn type_text(ty: Option<&Type>, otherwise: &str) -> String {
    ty.map_or_else(
        || otherwise.to_owned(),
        |ty| {
            quote::quote!(#ty)
                .to_string()
                .replace(" :: ", "::")
                .replace(" < ", "<")
                .replace(" >", ">")
                .replace(" ,", ",")
        },
    )
}

fn check_output(aggregate: &Aggregate, handler: &Handler, kind: &str, errors: &Errors) {
    let sig: &Signature = &handler.sig;
    match (handler.role, &sig.output) {
        (Role::Handle, ReturnType::Default) => {
            let event = type_text(aggregate.args.event.as_ref(), "PlayerEvent");
            let error = type_text(aggregate.args.error.as_ref(), "PlayerError");
            errors.spanned(
                &sig.ident,
                format!(
                    "{kind} returns the events it decided on or why it refused the command: add \
                     `-> Result<Vec<{event}>, {error}>`"
                ),
            );
        }
        (Role::Apply, ReturnType::Type(..)) => errors.spanned(
            &sig.output,
            format!(
                "{kind} returns nothing: an event is a fact that already happened, and \
                 applying it cannot fail; remove the return type"
            ),
        ),
        _ => {}
    }
}
