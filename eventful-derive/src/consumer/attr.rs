//! The arguments of `#[projection(...)]` / `#[policy(...)]` and the `#[on(...)]` and
//! `#[reset]` marks on the block's methods, as plain data.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::{Attribute, LitStr, Path, Type};

use super::Kind;
use crate::crate_path::CratePath;
use crate::ctxt::Errors;
use crate::meta_keys;

const KEYS: &[&str] = &["name", "event", "crate"];

/// What `#[projection(...)]` or `#[policy(...)]` says.
#[derive(Default)]
pub(crate) struct ConsumerArgs {
    /// The handler's name: its checkpoint key.
    pub(crate) name: Option<LitStr>,
    pub(crate) event: Option<Type>,
    pub(crate) crate_path: Option<Path>,
}

pub(crate) fn parse_args(kind: Kind, args: TokenStream, errors: &Errors) -> ConsumerArgs {
    let mut parsed = ConsumerArgs::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("name") {
            let name = errors.ok(meta.value().and_then(|value| value.parse::<LitStr>()));
            meta_keys::set_once(errors, &meta, &mut parsed.name, name);
        } else if meta.path.is_ident("event") {
            let event = errors.ok(meta.value().and_then(|value| value.parse()));
            meta_keys::set_once(errors, &meta, &mut parsed.event, event);
        } else if meta.path.is_ident("crate") {
            let path = errors.ok(CratePath::parse_value(&meta));
            meta_keys::set_once(errors, &meta, &mut parsed.crate_path, path);
        } else {
            meta_keys::unknown(errors, &meta, kind.attribute(), KEYS)?;
        }
        Ok(())
    });
    errors.ok(parser.parse2(args));
    parsed
}

/// A mark on a method of the block.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    /// `#[on(...)]`: handles one variant.
    On,
    /// `#[reset]`: clears the read model before a rebuild.
    Reset,
}

impl Mark {
    pub(crate) fn of(attr: &Attribute) -> Option<Self> {
        if attr.path().is_ident("on") {
            Some(Mark::On)
        } else if attr.path().is_ident("reset") {
            Some(Mark::Reset)
        } else {
            None
        }
    }

    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Mark::On => "on",
            Mark::Reset => "reset",
        }
    }
}

/// Whether `attr` is `#[register(...)]` (by its last segment, so `#[eventful_core::register]`
/// counts): written below `#[projection]` or `#[policy]`, it belongs on the generated impl.
pub(crate) fn is_register(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "register")
}

/// Records an error for each of `attrs` that is an aggregate's mark (`#[handle]`,
/// `#[apply]`), which a projection or a policy does not read, saying what to write instead.
pub(crate) fn reject_aggregate_marks(kind: Kind, attrs: &[Attribute], errors: &Errors) {
    for attr in attrs {
        let mark = if attr.path().is_ident("apply") {
            "apply"
        } else if attr.path().is_ident("handle") {
            "handle"
        } else {
            continue;
        };
        errors.spanned(
            attr,
            format!(
                "#[{mark}(...)] marks a method of an #[aggregate]; in a #[{}] block, mark each \
                 event handler with #[on(...)], e.g. `#[on(PlayerEvent::XpGained)]`",
                kind.attribute()
            ),
        );
    }
}

/// Whether `attr` is one of the marks this macro removes: its own, or an aggregate's (which
/// is reported).
pub(crate) fn is_any_mark(attr: &Attribute) -> bool {
    Mark::of(attr).is_some() || attr.path().is_ident("apply") || attr.path().is_ident("handle")
}

/// Records an error for each of `attrs` that is a mark, found on `place`, which is not a
/// method.
pub(crate) fn reject_marks(kind: Kind, attrs: &[Attribute], place: &str, errors: &Errors) {
    for attr in attrs {
        if let Some(mark) = Mark::of(attr) {
            errors.spanned(
                attr,
                format!(
                    "#[{}] goes on a method of the `#[{}]` impl block, not on {place}",
                    mark.attribute(),
                    kind.attribute()
                ),
            );
        }
    }
    reject_aggregate_marks(kind, attrs, errors);
}
