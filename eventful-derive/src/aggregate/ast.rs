//! The model `#[aggregate]` works from: the impl block (its handler marks removed), the
//! aggregate's types, and each handler with the variant it takes and its parameters.

use syn::{Attribute, FnArg, Ident, ImplItem, ImplItemFn, ItemImpl, Pat, Signature};

use super::attr::{self, AggregateArgs, Role};
use crate::ctxt::Errors;
use crate::target::{self, Target};

pub(crate) struct Aggregate {
    /// The impl block as it is emitted: every `#[handle]` and `#[apply]` removed.
    pub(crate) item: ItemImpl,
    pub(crate) args: AggregateArgs,
    pub(crate) handlers: Vec<Handler>,
}

/// A method marked `#[handle(...)]` or `#[apply(...)]`.
pub(crate) struct Handler {
    pub(crate) role: Role,
    pub(crate) target: Target,
    pub(crate) sig: Signature,
    /// The names of the parameters after `self` that are plain names, in order.
    pub(crate) params: Vec<Ident>,
}

impl Aggregate {
    pub(crate) fn from_syn(mut item: ItemImpl, args: AggregateArgs, errors: &Errors) -> Self {
        let mut handlers = Vec::new();
        for impl_item in &mut item.items {
            match impl_item {
                ImplItem::Fn(method) => handlers.extend(Handler::take(method, errors)),
                ImplItem::Const(item) => {
                    strip_marks(&mut item.attrs, "an associated const", errors)
                }
                ImplItem::Type(item) => strip_marks(&mut item.attrs, "an associated type", errors),
                ImplItem::Macro(item) => strip_marks(&mut item.attrs, "a macro call", errors),
                _ => {}
            }
        }
        Self {
            item,
            args,
            handlers,
        }
    }
}

fn strip_marks(attrs: &mut Vec<Attribute>, place: &str, errors: &Errors) {
    attr::reject_marks(attrs, place, errors);
    attrs.retain(|attr| Role::of(attr).is_none());
    strip_consumer_marks(attrs, errors);
}

/// Reports and removes the marks of projections and policies, so that only the error that
/// says what to write instead shows.
fn strip_consumer_marks(attrs: &mut Vec<Attribute>, errors: &Errors) {
    attr::reject_consumer_marks(attrs, errors);
    attrs.retain(|attr| !attr.path().is_ident("on") && !attr.path().is_ident("reset"));
}

impl Handler {
    /// Removes `method`'s marks and makes a handler of it if it had one.
    fn take(method: &mut ImplItemFn, errors: &Errors) -> Option<Self> {
        strip_consumer_marks(&mut method.attrs, errors);
        let (marks, others): (Vec<_>, Vec<_>) = std::mem::take(&mut method.attrs)
            .into_iter()
            .partition(|attr| Role::of(attr).is_some());
        method.attrs = others;
        let mut marks = marks.into_iter();
        let mark = marks.next()?;
        for extra in marks {
            errors.spanned(
                &extra,
                format!(
                    "`{}` already has a #[{}] mark: a method takes one variant; write another \
                     method for this one",
                    method.sig.ident,
                    Role::of(&mark).map_or("handle", Role::attribute)
                ),
            );
        }
        let role = Role::of(&mark)?;
        let target = errors.ok(target::parse(&mark, role.attribute(), role.example()))?;
        let params = method
            .sig
            .inputs
            .iter()
            .filter_map(|input| match input {
                FnArg::Typed(typed) => match &*typed.pat {
                    Pat::Ident(pat) => Some(pat.ident.clone()),
                    _ => None,
                },
                FnArg::Receiver(_) => None,
            })
            .collect();
        Some(Self {
            role,
            target,
            sig: method.sig.clone(),
            params,
        })
    }
}
