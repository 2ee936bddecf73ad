//! The arguments of `#[aggregate(...)]` and the `#[handle(...)]` / `#[apply(...)]` marks on
//! its methods, as plain data.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::{Attribute, LitInt, LitStr, Path, Type};

use crate::crate_path::CratePath;
use crate::ctxt::Errors;
use crate::meta_keys;
use crate::stored_name::{StoredName, parse_revision};

const KEYS: &[&str] = &[
    "name",
    "id",
    "command",
    "event",
    "error",
    "snapshot_revision",
    "crate",
];

/// What `#[aggregate(...)]` says.
#[derive(Default)]
pub(crate) struct AggregateArgs {
    pub(crate) name: Option<StoredName>,
    pub(crate) id: Option<Type>,
    pub(crate) command: Option<Type>,
    pub(crate) event: Option<Type>,
    pub(crate) error: Option<Type>,
    pub(crate) snapshot_revision: Option<u32>,
    pub(crate) crate_path: Option<Path>,
}

pub(crate) fn parse_args(args: TokenStream, errors: &Errors) -> AggregateArgs {
    let mut parsed = AggregateArgs::default();
    let parser = syn::meta::parser(|meta| {
        let ty = |slot: &mut Option<Type>| {
            let ty = errors.ok(meta.value().and_then(|value| value.parse()));
            meta_keys::set_once(errors, &meta, slot, ty);
        };
        if meta.path.is_ident("id") {
            ty(&mut parsed.id);
        } else if meta.path.is_ident("command") {
            ty(&mut parsed.command);
        } else if meta.path.is_ident("event") {
            ty(&mut parsed.event);
        } else if meta.path.is_ident("error") {
            ty(&mut parsed.error);
        } else if meta.path.is_ident("name") {
            let name = errors.ok(meta.value().and_then(|value| value.parse::<LitStr>()));
            let name = name.as_ref().map(StoredName::from_lit);
            meta_keys::set_once(errors, &meta, &mut parsed.name, name);
        } else if meta.path.is_ident("snapshot_revision") {
            let revision = errors.ok(meta
                .value()
                .and_then(|value| value.parse::<LitInt>())
                .and_then(|lit| parse_revision(&lit, "snapshot_revision")));
            meta_keys::set_once(errors, &meta, &mut parsed.snapshot_revision, revision);
        } else if meta.path.is_ident("crate") {
            let path = errors.ok(CratePath::parse_value(&meta));
            meta_keys::set_once(errors, &meta, &mut parsed.crate_path, path);
        } else {
            meta_keys::unknown(errors, &meta, "aggregate", KEYS)?;
        }
        Ok(())
    });
    errors.ok(parser.parse2(args));
    parsed
}

/// A method's role in the aggregate.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Role {
    /// `#[handle(...)]`: decides on a command.
    Handle,
    /// `#[apply(...)]`: evolves the state by an event.
    Apply,
}

impl Role {
    pub(crate) fn of(attr: &Attribute) -> Option<Self> {
        if attr.path().is_ident("handle") {
            Some(Role::Handle)
        } else if attr.path().is_ident("apply") {
            Some(Role::Apply)
        } else {
            None
        }
    }

    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Role::Handle => "handle",
            Role::Apply => "apply",
        }
    }

    /// An example of the attribute, for messages.
    pub(crate) fn example(self) -> &'static str {
        match self {
            Role::Handle => "#[handle(PlayerCommand::GainXp)]",
            Role::Apply => "#[apply(PlayerEvent::XpGained)]",
        }
    }
}

/// Records an error for each of `attrs` that is a `#[handle]` or `#[apply]`, found where
/// `place` says, which is not a method.
pub(crate) fn reject_marks(attrs: &[Attribute], place: &str, errors: &Errors) {
    for attr in attrs {
        if let Some(role) = Role::of(attr) {
            errors.spanned(
                attr,
                format!(
                    "#[{}] goes on a method of the `#[aggregate]` impl block, not on {place}",
                    role.attribute()
                ),
            );
        }
    }
}

/// Records an error for each of `attrs` that is a mark of a projection or a policy
/// (`#[on]`, `#[reset]`), which an aggregate does not read.
pub(crate) fn reject_consumer_marks(attrs: &[Attribute], errors: &Errors) {
    for attr in attrs {
        if attr.path().is_ident("on") {
            errors.spanned(
                attr,
                "#[on(...)] marks a handler of a #[projection] or a #[policy]; an aggregate \
                 evolves by its #[apply(...)] methods: write `#[apply(PlayerEvent::XpGained)]` \
                 on a `fn(&mut self, ...)`",
            );
        } else if attr.path().is_ident("reset") {
            errors.spanned(
                attr,
                "#[reset] marks the method that clears a #[projection]; an aggregate starts \
                 from `Default::default()`",
            );
        }
    }
}
