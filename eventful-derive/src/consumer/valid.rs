//! Checks a `#[projection]` / `#[policy]` model: the arguments it needs, at least one handler
//! and one per variant, handler parameters the generated impl can fill, and the `#[reset]`
//! method of a projection.

use std::collections::HashMap;

use proc_macro2::Span;
use syn::{FnArg, ReturnType, Type};

use super::Kind;
use super::ast::{Consumer, Handler, Param, ParamRole, Reset};
use crate::ctxt::Errors;
use crate::signature::{self, Receiver, type_text};

pub(crate) fn check(consumer: &Consumer, errors: &Errors) {
    check_args(consumer, errors);
    if consumer.handlers.is_empty() && consumer.on_marks == 0 {
        errors.spanned(
            &consumer.item.self_ty,
            format!(
                "this #[{}] block has no #[on(...)] method: mark each method that handles an \
                 event with the variant it takes, e.g. `#[on(PlayerEvent::XpGained)]`",
                consumer.kind.attribute()
            ),
        );
    }
    check_one_handler_per_variant(&consumer.handlers, errors);
    for handler in &consumer.handlers {
        check_handler(consumer, handler, errors);
    }
    check_resets(consumer, errors);
}

fn check_args(consumer: &Consumer, errors: &Errors) {
    let args = &consumer.args;
    let attribute = consumer.kind.attribute();
    if args.name.is_none() {
        errors.at(
            Span::call_site(),
            format!(
                "#[{attribute}(...)] is missing `name = \"{}\"`: the {attribute}'s name, unique \
                 on a bus and kept for good, since its progress is saved under it",
                consumer.kind.example_name()
            ),
        );
    }
    if args.event.is_none() {
        errors.at(
            Span::call_site(),
            format!(
                "#[{attribute}(...)] is missing `event = PlayerEvent`: the event type its #[on] \
                 methods take"
            ),
        );
    }
    if let Some(name) = &args.name
        && name.value().trim().is_empty()
    {
        errors.spanned(
            name,
            format!(
                "a {attribute}'s name cannot be empty: its progress is saved under it; write \
                 `name = \"{}\"`",
                consumer.kind.example_name()
            ),
        );
    }
}

fn check_one_handler_per_variant(handlers: &[Handler], errors: &Errors) {
    let mut seen: HashMap<String, &Handler> = HashMap::new();
    for handler in handlers {
        let Some(first) = seen.insert(handler.target.key(), handler) else {
            continue;
        };
        for (this, other) in [(first, handler), (handler, first)] {
            errors.spanned(
                &this.target.path,
                format!(
                    "`{}` has two #[on] methods, `{}` and `{}`: keep one of them",
                    this.target.key(),
                    this.sig.ident,
                    other.sig.ident
                ),
            );
        }
    }
}

fn check_handler(consumer: &Consumer, handler: &Handler, errors: &Errors) {
    let kind = consumer.kind.handler();
    let sig = &handler.sig;
    signature::check_qualifiers(sig, kind, errors);
    signature::check_receiver(
        sig,
        Receiver::Shared,
        kind,
        receiver_reason(consumer.kind),
        errors,
    );
    check_params(consumer, handler, errors);
    if consumer.kind == Kind::Policy && matches!(sig.output, ReturnType::Default) {
        errors.spanned(
            &sig.ident,
            format!(
                "{kind} returns `Result<(), E>`, with `E` converting into `BoxError` (as most \
                 errors do): its commands can fail, and the bus must know, to retry the event or \
                 park it; add `-> Result<(), BoxError>`"
            ),
        );
    }
}

fn receiver_reason(kind: Kind) -> &'static str {
    match kind {
        Kind::Projection => {
            "the bus feeds a read model while queries read it, so its state lives behind \
             `&self` (a lock, an atomic, a database)"
        }
        Kind::Policy => {
            "a policy is shared by the bus and whoever holds it, so what it keeps lives behind \
             `&self` (a lock, an atomic)"
        }
    }
}

fn check_params(consumer: &Consumer, handler: &Handler, errors: &Errors) {
    let binds = if handler.target.positional {
        "binds the variant's fields in order"
    } else {
        "binds the variant's field of the same name"
    };
    let event = type_text(consumer.args.event.as_ref(), "PlayerEvent");
    let mut envelope: Option<&Param> = None;
    let mut reaction: Option<&Param> = None;
    for param in &handler.params {
        match param.role {
            ParamRole::Field => {
                signature::check_plain_name(&param.typed, binds, errors);
                signature::check_shared_reference(
                    &param.typed.ty,
                    "the fields of the event it takes",
                    errors,
                );
            }
            ParamRole::Envelope => {
                if envelope.replace(param).is_some() {
                    errors.spanned(
                        &param.typed,
                        format!(
                            "`{}` takes the envelope twice: one `&RecordedEvent<{event}>` \
                             parameter is enough",
                            handler.sig.ident
                        ),
                    );
                }
                require_shared(
                    &param.typed.ty,
                    &format!("&RecordedEvent<{event}>"),
                    "the envelope",
                    errors,
                );
            }
            ParamRole::Reaction if consumer.kind == Kind::Projection => errors.spanned(
                &param.typed,
                "a projection runs no commands, so it is given no `&Reaction`; a policy is: \
                 write the block with #[policy(...)] to react with commands",
            ),
            ParamRole::Reaction => {
                if reaction.replace(param).is_some() {
                    errors.spanned(
                        &param.typed,
                        format!(
                            "`{}` takes the reaction twice: one `&Reaction` parameter is enough",
                            handler.sig.ident
                        ),
                    );
                }
                require_shared(&param.typed.ty, "&Reaction", "the reaction", errors);
            }
        }
    }
}

/// Records an error unless `ty` is a shared reference, which `written` shows written out.
fn require_shared(ty: &Type, written: &str, what: &str, errors: &Errors) {
    if !matches!(ty, Type::Reference(reference) if reference.mutability.is_none()) {
        errors.spanned(
            ty,
            format!("{what} is lent to the handler: write the parameter's type as `{written}`"),
        );
    }
}

fn check_resets(consumer: &Consumer, errors: &Errors) {
    if consumer.kind == Kind::Policy {
        for reset in &consumer.resets {
            errors.spanned(
                &reset.mark,
                "#[reset] marks the method that clears a projection's read model; a policy \
                 keeps none to clear: remove the mark",
            );
        }
        return;
    }
    if let [first, extra @ ..] = consumer.resets.as_slice() {
        for other in extra {
            errors.spanned(
                &other.mark,
                format!(
                    "`{}` and `{}` are both marked #[reset]: keep the mark on one of them",
                    first.sig.ident, other.sig.ident
                ),
            );
        }
    }
    for reset in &consumer.resets {
        check_reset(reset, errors);
    }
}

fn check_reset(reset: &Reset, errors: &Errors) {
    let kind = "the #[reset] method";
    let sig = &reset.sig;
    if reset.mark.meta.require_path_only().is_err() {
        errors.spanned(
            &reset.mark,
            "#[reset] takes no arguments: it marks the method that clears the read model",
        );
    }
    signature::check_qualifiers(sig, kind, errors);
    signature::check_receiver(
        sig,
        Receiver::Shared,
        kind,
        "it clears the read model where queries read it, behind `&self`",
        errors,
    );
    for input in sig.inputs.iter().skip(1) {
        if let FnArg::Typed(param) = input {
            errors.spanned(
                param,
                "the #[reset] method takes only `&self`: it clears the whole read model, \
                 before a rebuild feeds it every event again",
            );
        }
    }
}
