//! `#[aggregate(...)]` on an inherent impl block: the aggregate written as handler methods,
//! from which `impl Aggregate` is generated.

mod ast;
mod attr;
mod expand;
mod valid;

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::Item;

use crate::ctxt::Errors;

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let errors = Errors::new();
    let item = match syn::parse2::<Item>(input.clone()) {
        Ok(Item::Impl(item)) if item.trait_.is_none() => item,
        Ok(Item::Impl(item)) => {
            errors.spanned(
                item.trait_.map(|(path, _)| path),
                "#[aggregate] goes on an inherent impl block, `impl Player { ... }`, holding the \
                 handler methods; it writes `impl Aggregate` itself",
            );
            return errors.emit_after(input);
        }
        Ok(other) => {
            errors.spanned(
                other,
                "#[aggregate] goes on an inherent impl block, `impl Player { ... }`, holding the \
                 #[handle] and #[apply] methods",
            );
            return errors.emit_after(input);
        }
        Err(error) => {
            errors.push(error);
            return errors.emit_after(input);
        }
    };
    let args = attr::parse_args(args, &errors);
    let model = ast::Aggregate::from_syn(item, args, &errors);
    valid::check(&model, &errors);
    if errors.any() {
        // The impl block with its marks removed, so that its methods still exist.
        let mut tokens = model.item.to_token_stream();
        tokens.extend(expand::fallback(&model));
        return errors.emit_after(tokens);
    }
    expand::expand(&model)
}
