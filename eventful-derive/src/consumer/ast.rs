//! The model `#[projection]` and `#[policy]` work from: the impl block (its marks removed),
//! the arguments, each `#[on]` handler with the variant it takes and what each of its
//! parameters receives, and the `#[reset]` method.

use syn::{Attribute, FnArg, Ident, ImplItem, ImplItemFn, ItemImpl, Pat, PatType, Signature, Type};

use super::Kind;
use super::attr::{self, ConsumerArgs, Mark};
use crate::ctxt::Errors;
use crate::target::{self, Target};

pub(crate) struct Consumer {
    pub(crate) kind: Kind,
    /// The impl block as it is emitted: every mark and `#[register]` removed.
    pub(crate) item: ItemImpl,
    pub(crate) args: ConsumerArgs,
    pub(crate) handlers: Vec<Handler>,
    /// How many methods are marked `#[on]`, including those whose mark could not be read.
    pub(crate) on_marks: usize,
    /// Every method marked `#[reset]` (a valid block has at most one, in a projection).
    pub(crate) resets: Vec<Reset>,
    /// `#[register(...)]` written below the macro: it goes on the generated impl, which is
    /// the one it registers.
    pub(crate) register: Vec<Attribute>,
}

/// A method marked `#[on(...)]`.
pub(crate) struct Handler {
    pub(crate) target: Target,
    pub(crate) sig: Signature,
    /// Its parameters after `self`, in order.
    pub(crate) params: Vec<Param>,
}

/// A parameter of a handler and what it receives, told by its type.
pub(crate) struct Param {
    pub(crate) typed: PatType,
    pub(crate) role: ParamRole,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamRole {
    /// Any other type: the variant's field of the parameter's name (or, for `Variant(..)`,
    /// the next field in order).
    Field,
    /// `&RecordedEvent<...>`: the whole envelope (ids, stream, position, metadata).
    Envelope,
    /// `&Reaction`: the contexts for a policy's commands.
    Reaction,
}

/// A method marked `#[reset]`.
pub(crate) struct Reset {
    pub(crate) mark: Attribute,
    pub(crate) sig: Signature,
}

impl Consumer {
    pub(crate) fn from_syn(
        kind: Kind,
        mut item: ItemImpl,
        args: ConsumerArgs,
        errors: &Errors,
    ) -> Self {
        let (register, others) = std::mem::take(&mut item.attrs)
            .into_iter()
            .partition(attr::is_register);
        item.attrs = others;
        let mut handlers = Vec::new();
        let mut on_marks = 0;
        let mut resets = Vec::new();
        for impl_item in &mut item.items {
            match impl_item {
                ImplItem::Fn(method) => match take_marks(kind, method, errors) {
                    Some(Marked::On(handler)) => {
                        on_marks += 1;
                        handlers.extend(handler);
                    }
                    Some(Marked::Reset(reset)) => resets.push(reset),
                    None => {}
                },
                ImplItem::Const(item) => {
                    strip_marks(kind, &mut item.attrs, "an associated const", errors)
                }
                ImplItem::Type(item) => {
                    strip_marks(kind, &mut item.attrs, "an associated type", errors)
                }
                ImplItem::Macro(item) => strip_marks(kind, &mut item.attrs, "a macro call", errors),
                _ => {}
            }
        }
        Self {
            kind,
            item,
            args,
            handlers,
            on_marks,
            resets,
            register,
        }
    }
}

fn strip_marks(kind: Kind, attrs: &mut Vec<Attribute>, place: &str, errors: &Errors) {
    attr::reject_marks(kind, attrs, place, errors);
    attrs.retain(|attr| !attr::is_any_mark(attr));
}

/// What a marked method is.
enum Marked {
    /// A handler; `None` when its mark could not be read (the error is recorded).
    On(Option<Handler>),
    Reset(Reset),
}

/// Removes `method`'s marks and makes a handler or the reset method of it if it had one.
fn take_marks(kind: Kind, method: &mut ImplItemFn, errors: &Errors) -> Option<Marked> {
    attr::reject_aggregate_marks(kind, &method.attrs, errors);
    let (marks, others): (Vec<_>, Vec<_>) = std::mem::take(&mut method.attrs)
        .into_iter()
        .partition(attr::is_any_mark);
    method.attrs = others;
    let mut marks = marks.into_iter().filter(|mark| Mark::of(mark).is_some());
    let mark = marks.next()?;
    let first = Mark::of(&mark);
    for extra in marks {
        let message = match (first, Mark::of(&extra)) {
            (Some(Mark::On), Some(Mark::On)) => format!(
                "`{}` already has an #[on] mark: a method takes one variant; write another \
                 method for this one",
                method.sig.ident
            ),
            (Some(Mark::Reset), Some(Mark::Reset)) => {
                format!("`{}` is marked #[reset] twice", method.sig.ident)
            }
            _ => format!(
                "`{}` is marked both #[on] and #[reset]: the #[reset] method clears the read \
                 model and handles no event; handle events in other methods",
                method.sig.ident
            ),
        };
        errors.spanned(&extra, message);
    }
    match first? {
        Mark::On => {
            let target = errors.ok(target::parse(&mark, "on", example(kind)));
            Some(Marked::On(target.map(|target| Handler {
                target,
                sig: method.sig.clone(),
                params: params(&method.sig),
            })))
        }
        Mark::Reset => Some(Marked::Reset(Reset {
            mark,
            sig: method.sig.clone(),
        })),
    }
}

/// An `#[on(...)]` to show in messages.
fn example(kind: Kind) -> &'static str {
    match kind {
        Kind::Projection => "#[on(PlayerEvent::XpGained)]",
        Kind::Policy => "#[on(GameEvent::Completed)]",
    }
}

fn params(sig: &Signature) -> Vec<Param> {
    sig.inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(typed) => Some(Param {
                role: ParamRole::of(&typed.ty),
                typed: typed.clone(),
            }),
            FnArg::Receiver(_) => None,
        })
        .collect()
}

impl ParamRole {
    /// By the type's last name, behind any reference: `RecordedEvent<...>` is the envelope,
    /// `Reaction` the reaction, anything else a field.
    fn of(ty: &Type) -> Self {
        let mut ty = ty;
        while let Type::Reference(reference) = ty {
            ty = &reference.elem;
        }
        let last = match ty {
            Type::Path(path) if path.qself.is_none() => path.path.segments.last(),
            _ => None,
        };
        match last.map(|segment| segment.ident.to_string()).as_deref() {
            Some("RecordedEvent") => ParamRole::Envelope,
            Some("Reaction") => ParamRole::Reaction,
            _ => ParamRole::Field,
        }
    }
}

impl Param {
    /// The parameter's name, when it is a plain one.
    pub(crate) fn ident(&self) -> Option<&Ident> {
        match &*self.typed.pat {
            Pat::Ident(pat) => Some(&pat.ident),
            _ => None,
        }
    }
}

impl Handler {
    /// The names of the parameters that bind fields, in order.
    pub(crate) fn field_idents(&self) -> Vec<Ident> {
        self.params
            .iter()
            .filter(|param| param.role == ParamRole::Field)
            .filter_map(Param::ident)
            .cloned()
            .collect()
    }
}
