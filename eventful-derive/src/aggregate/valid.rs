//! Checks an `#[aggregate]` model: the arguments it needs, one handler per variant, and
//! handler signatures the generated `impl Aggregate` can call.

use std::collections::HashMap;

use proc_macro2::Span;
use syn::{FnArg, ReturnType, Signature};

use super::ast::{Aggregate, Handler};
use super::attr::Role;
use crate::ctxt::Errors;
use crate::signature::{self, Receiver, type_text};

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
            errors.spanned(
                &this.target.path,
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
    signature::check_qualifiers(sig, kind, errors);
    let (receiver, why) = match handler.role {
        Role::Handle => (
            Receiver::Shared,
            "it decides from the state without changing it; the events it returns change it",
        ),
        Role::Apply => (Receiver::Mut, "it changes the state by one event"),
    };
    signature::check_receiver(sig, receiver, kind, why, errors);
    check_params(handler, errors);
    check_output(aggregate, handler, kind, errors);
}

fn check_params(handler: &Handler, errors: &Errors) {
    let binds = if handler.target.positional {
        "binds the variant's fields in order"
    } else {
        "binds the variant's field of the same name"
    };
    let borrows = match handler.role {
        Role::Handle => "the fields of the command it takes",
        Role::Apply => "the fields of the event it takes",
    };
    for input in &handler.sig.inputs {
        let FnArg::Typed(param) = input else {
            continue;
        };
        signature::check_plain_name(param, binds, errors);
        signature::check_shared_reference(&param.ty, borrows, errors);
    }
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
