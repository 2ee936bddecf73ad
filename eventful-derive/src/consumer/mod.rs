//! `#[projection(...)]` and `#[policy(...)]` on an inherent impl block: a read model or a
//! policy written as one method per event variant, from which `impl Projection` or
//! `impl Policy` is generated. The two differ in little (the trait, what a handler may take,
//! whether it may return nothing, `#[reset]`), so they share one model, told apart by
//! [`Kind`].

mod ast;
mod attr;
mod expand;
mod valid;

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::Item;

use crate::ctxt::Errors;

/// Which trait the block implements.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Projection,
    Policy,
}

impl Kind {
    /// The macro's name, as in `#[projection(...)]`.
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Kind::Projection => "projection",
            Kind::Policy => "policy",
        }
    }

    /// The trait it implements.
    pub(crate) fn trait_name(self) -> &'static str {
        match self {
            Kind::Projection => "Projection",
            Kind::Policy => "Policy",
        }
    }

    /// What one of its `#[on]` methods is called in messages.
    pub(crate) fn handler(self) -> &'static str {
        match self {
            Kind::Projection => "a projection's handler",
            Kind::Policy => "a policy's handler",
        }
    }

    /// An example of the type the block is for, for messages.
    pub(crate) fn example_type(self) -> &'static str {
        match self {
            Kind::Projection => "Leaderboard",
            Kind::Policy => "AwardXp",
        }
    }

    /// An example of the macro's `name = "..."`, for messages.
    pub(crate) fn example_name(self) -> &'static str {
        match self {
            Kind::Projection => "leaderboard",
            Kind::Policy => "award_xp",
        }
    }
}

pub(crate) fn expand(kind: Kind, args: TokenStream, input: TokenStream) -> TokenStream {
    let errors = Errors::new();
    let attribute = kind.attribute();
    let item = match syn::parse2::<Item>(input.clone()) {
        Ok(Item::Impl(item)) if item.trait_.is_none() => item,
        Ok(Item::Impl(item)) => {
            errors.spanned(
                item.trait_.map(|(path, _)| path),
                format!(
                    "#[{attribute}] goes on an inherent impl block, `impl {} {{ ... }}`, holding \
                     the #[on(...)] methods; it writes `impl {}` itself",
                    kind.example_type(),
                    kind.trait_name()
                ),
            );
            return errors.emit_after(input);
        }
        Ok(other) => {
            errors.spanned(
                other,
                format!(
                    "#[{attribute}] goes on an inherent impl block, `impl {} {{ ... }}`, holding \
                     the #[on(...)] methods",
                    kind.example_type()
                ),
            );
            return errors.emit_after(input);
        }
        Err(error) => {
            errors.push(error);
            return errors.emit_after(input);
        }
    };
    let args = attr::parse_args(kind, args, &errors);
    let model = ast::Consumer::from_syn(kind, item, args, &errors);
    valid::check(&model, &errors);
    if errors.any() {
        // The impl block with its marks removed, so that its methods still exist.
        let mut tokens = model.item.to_token_stream();
        tokens.extend(expand::fallback(&model));
        return errors.emit_after(tokens);
    }
    expand::expand(&model)
}
